# Purpose: the markdown report of matrix.sh: medians per workload and target, ratios to the baseline and the reference forwarder, idle10k, per-round figures.
# shellcheck shell=bash
#
# Sourced by matrix.sh; print_report reads RESULTS, SYS_RESULTS, IDLE_RESULTS and SKIPPED (formats
# in matrix.sh) and the settings, and writes the report on stdout.

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# med WORKLOAD TARGET COLUMN : the median of a RESULTS column; sum_of: its sum.
med() { awk -v w="$1" -v t="$2" -v c="$3" '$1 == w && $2 == t { print $c }' "$RESULTS" | median; }
sum_of() { awk -v w="$1" -v t="$2" -v c="$3" '$1 == w && $2 == t { s += $c } END { print s + 0 }' "$RESULTS"; }
# ratio A B : "A/B×", or n/a when either is not a positive number.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0 && a + 0 > 0) printf "%.2f×", a / b; else print "n/a" }'; }
ran() { awk -v w="$1" -v t="$2" '$1 == w && $2 == t { f = 1 } END { exit !f }' "$RESULTS"; }

# idle_row TARGET : the idle10k summary row: memory from the target's first round (later rounds reuse
# what it kept), probe figures the medians over all rounds.
idle_row() {
    awk -v t="$1" -v n="$IDLE_CONNS" '
        $1 != t { next }
        $2 == 1 { first = $0 }
        { k++; for (c = 6; c <= 12; c++) col[c, k] = $c; f += $10; bad += $11 }
        function med(c,   i, j, tmp, v) {
            for (i = 1; i <= k; i++) v[i] = col[c, i]
            for (i = 2; i <= k; i++) { tmp = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > tmp + 0; j--) v[j + 1] = v[j]; v[j + 1] = tmp }
            return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
        }
        END {
            if (k == 0) exit
            split(first, m, " ")
            printf "| %s | %s | %s → %s | %.0f | %s → %s (%+d) | %s | %s | %s | %s | %s | %d, %d |\n", t, m[5], m[3], m[4],
                (m[4] - m[3]) * 1024 / n, m[3], m[13], m[13] - m[3], med(6), med(7), med(8), med(9), med(12), f, bad
        }' "$IDLE_RESULTS"
}

# check LABEL VALUE OP LIMIT : one row of the issue-target table ("n/a" when the figure is missing).
check() {
    awk -v l="$1" -v v="$2" -v op="$3" -v lim="$4" 'BEGIN {
        if (v !~ /^[0-9.]+/) { printf "| %s | n/a | %s %s | – |\n", l, op, lim; exit }
        x = v + 0; ok = (op == "≥") ? (x >= lim) : (x <= lim)
        printf "| %s | %s | %s %s | %s |\n", l, v, op, lim, ok ? "meets" : "**misses**"
    }'
}

# issue_targets : Canarygate's figures against issue 18's targets, from this run's medians.
issue_targets() {
    local w rr cr
    echo
    echo "Issue 18's targets for Canarygate, from this run (ratios of medians; one run on a shared machine is a hint, not a verdict):"
    echo
    echo "| target | this run | wanted | |"
    echo "|---|---:|---|---|"
    for w in down1m up1m; do
        ran "$w" canarygate && ran "$w" "$BASELINE" || continue
        rr="$(ratio "$(med "$w" canarygate 4)" "$(med "$w" "$BASELINE" 4)")"; cr="$(ratio "$(med "$w" canarygate 6)" "$(med "$w" "$BASELINE" 6)")"
        check "$w: req/s ÷ $BASELINE" "${rr%×}" "≥" 1.2
        check "$w: CPU per MiB ÷ $BASELINE" "${cr%×}" "≤" 0.8
    done
    if ran churn canarygate && ran churn "$BASELINE"; then
        rr="$(ratio "$(med churn canarygate 4)" "$(med churn "$BASELINE" 4)")"
        check "churn: req/s ÷ $BASELINE" "${rr%×}" "≥" 1.1
    fi
    if ran small canarygate && ran small reference; then
        cr="$(ratio "$(med small canarygate 6)" "$(med small reference 6)")"
        check "small: CPU per request ÷ reference (aim 1.05)" "${cr%×}" "≤" 1.1
    fi
    if [ -s "$IDLE_RESULTS" ] && grep -q '^canarygate 1 ' "$IDLE_RESULTS"; then
        check "idle10k: bytes per idle connection" "$(awk -v n="$IDLE_CONNS" '$1 == "canarygate" && $2 == 1 { printf "%.0f", ($4 - $3) * 1024 / n }' "$IDLE_RESULTS")" "≤" 512
    fi
}

print_report() {
    local w t cpu body mibms sys skip refcols="" refhdr="" refsep="" r
    report_stamp
    has_target reference && { refhdr+=" CPU ÷ reference |"; refsep+="---:|"; }
    has_target reference-splice && { refhdr+=" CPU ÷ reference-splice |"; refsep+="---:|"; }
    echo
    echo "## Workload matrix $NOW"
    echo
    echo "Command: \`$CMDLINE\`"
    echo
    report_host_line
    echo "- Tools: wrk $(wrk -v 2>&1 | head -1 | awk '{ print $2 }'); $(h2load --version 2>&1 | head -1); $(haproxy -v 2>/dev/null | head -1 | awk '{ print "HAProxy", $3 }'); $(nginx -v 2>&1 | sed 's/.*\///; s/^/nginx /'); $(openssl version | awk '{ print "openssl", $2 }'); $(cc --version 2>/dev/null | head -1)"
    echo "- Canarygate: $( has_target canarygate && echo "$CANARYGATE_BIN @ $CG_VERSION, --threads $CANARYGATE_THREADS, canary weight 20 (fixed, no rollout), maxIdlePerEndpoint 1024, maxConnections $PROXY_MAXCONN; TLS listener (ALPN h2, http/1.1)" || echo "not measured in this run")"
    echo "- Upstream: one nginx (1 worker, sendfile) serving both arms on :$PORT_PRIMARY / :$PORT_CANARY: \`/\` 200 \"ok\\n\"; \`/f/64k\`, \`/f/1m\` static files; \`/c/256k\` the same file through the SSI filter (chunked, no Content-Length); \`POST /upload\` reads the whole body (request buffering, then a bodyless keep-alive subrequest to an internal sink) before it answers 200."
    echo "- Proxies, all 80/20 over the same arms: HAProxy nbthread $HAPROXY_THREADS, mode http, roundrobin weight 80/20, http-reuse always, forwardfor + X-Forwarded-Proto/-Host, \`ssl crt … alpn h2,http/1.1\`, maxconn $PROXY_MAXCONN; nginx proxy worker_processes $NGINX_WORKERS, weight=4/weight=1, keepalive 1024, proxy_http_version 1.1, Connection \"\", proxy_request_buffering off (uploads streamed like the other two), proxy_buffering on (its default), \`listen … ssl http2\`; reference forwarder ($FORWARDER_SRC, \`cc -O2\`, --threads $FORWARDER_THREADS): one upstream connection per client connection chosen 80/20 by weight, bytes relayed with read/write on epoll (\`reference-splice\`: splice(2) through a pipe), no parsing, no TLS."
    echo "- Load: wrk -t$WRK_THREADS (-c64 small/churn/https-small, -c16 body workloads; uploads and chunked-up by a Lua script), h2load -t$H2LOAD_THREADS over TLS with ALPN h2 only (h2-small -c32 -m10, h2-down1m -c16 -m1); $ROUNDS alternating round(s) of $DURATION per workload after a $WARMUP warm-up, medians shown. All on one $(nproc)-core machine, load generators and upstream included."
    echo "- Columns: CPU = utime+stime of the target's process tree (/proc, tick $(( 1000000 / CLK_TCK )) µs) / requests; MiB/s and CPU ms/MiB count the payload only (response body for downloads, request body for uploads); client / upstream conns/req = TCP connections accepted per request by the target from the load generator, and by the upstream nginx from the target ($( [ -n "$ACCEPT_COUNTING" ] && echo "counted per listening port with \`perf stat -a -e sock:inet_sock_set_state --filter 'sport == PORT && oldstate == 3 && newstate == 1'\`" || echo "not counted: the sock:inet_sock_set_state tracepoint is unavailable" )), ~0 when connections are kept alive; syscalls/req: $( case "$SYSCALL_TOOL" in perf) echo "\`perf stat -e raw_syscalls:sys_enter -p PIDS\` over a separate $SYSCALL_DURATION run";; strace) echo "\`strace -c -f\` over a separate $SYSCALL_DURATION run (slows the target; counts only)";; *) echo "not measured";; esac ). Ratios: target ÷ $BASELINE (req/s: higher is better; CPU: lower is better); CPU ÷ reference: the target's CPU per request over the reference forwarder's in the same workload (the kernel's share of the work, what no user-space work could beat)."
    if has_target nginx; then
        echo "- nginx proxy: $(grep -c 'buffered to a temporary file' "$TMP/nginx-proxy/logs/error.log" || true) upstream responses buffered to a temporary file during the run (its error log)."
    fi
    echo
    echo "| workload | target | req/s | MiB/s | CPU µs/req | user | sys | CPU ms/MiB | syscalls/req | client conns/req | upstream conns/req | non-2xx, errors | req/s ÷ $BASELINE | CPU ÷ $BASELINE |$refhdr"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|$refsep"
    for w in "${WORKLOAD_LIST[@]}"; do
        [ "$w" = idle10k ] && continue
        workload_spec "$w"; body="$BODY"
        for t in "${TARGET_LIST[@]}"; do
            skip="$(awk -F'\t' -v w="$w" -v t="$t" '$1 == w && $2 == t { print $3 }' "$SKIPPED")"
            if [ -n "$skip" ]; then echo "| $w | $t | skipped: $skip |"; continue; fi
            ran "$w" "$t" || continue
            cpu="$(med "$w" "$t" 6)"
            mibms="–"; [ "$body" -gt 0 ] && mibms="$(awk -v c="$cpu" -v b="$body" 'BEGIN { printf "%.2f", c * 1048576 / b / 1000 }')"
            sys="$(awk -v w="$w" -v t="$t" '$1 == w && $2 == t { print $3 }' "$SYS_RESULTS")"
            refcols=""
            for r in reference reference-splice; do
                has_target "$r" || continue
                if ran "$w" "$r"; then refcols+=" $(ratio "$cpu" "$(med "$w" "$r" 6)") |"; else refcols+=" – |"; fi
            done
            echo "| $w | $t | $(med "$w" "$t" 4) | $( [ "$body" -gt 0 ] && med "$w" "$t" 13 || echo –) | $cpu | $(med "$w" "$t" 7) | $(med "$w" "$t" 8) | $mibms | ${sys:-n/a} | $(med "$w" "$t" 9) | $(med "$w" "$t" 10) | $(sum_of "$w" "$t" 11), $(sum_of "$w" "$t" 12) | $(ratio "$(med "$w" "$t" 4)" "$(med "$w" "$BASELINE" 4)") | $(ratio "$cpu" "$(med "$w" "$BASELINE" 6)") |$refcols"
        done
    done
    if has_workload idle10k; then
        echo
        echo "### idle10k: $IDLE_CONNS idle keep-alive clients, probe at $PROBE_RATE req/s"
        echo
        echo "Per target: 1,000 warm-up requests over 8 connections, 1 s, VmRSS before (process tree); then $IDLE_CONNS connections ($IDLE_INFLIGHT being set up at once, \`idle_clients.py hold\`), each one keep-alive \`GET /\` read to the end and left idle; 1 s, VmRSS after; while they are held, \`h2load --h1 -c $PROBE_CLIENTS --rps $(( PROBE_RATE / PROBE_CLIENTS ))\` for $DURATION through the same target (percentiles from its \`--log-file\`). Bytes per idle connection = (after − before) × 1024 / $IDLE_CONNS (user-space memory only; kernel socket buffers are not in VmRSS)."
        echo
        echo "Memory from each target's first round (a later round measures reuse, not cost: the memory the first one took and kept is used again; see the per-round figures); probe figures are medians of $IDLE_ROUNDS alternating round(s). \"kept after close\": VmRSS before the clients came → 1 s after they all closed (what the target did not give back)."
        echo
        echo "| target | established | VmRSS kB before → after | bytes / idle conn | kept after close, kB | probe req/s | p50 ms | p99 ms | p99.9 ms | probe CPU µs/req | failed, non-2xx |"
        echo "|---|---:|---|---:|---|---:|---:|---:|---:|---:|---|"
        for t in "${TARGET_LIST[@]}"; do
            skip="$(awk -F'\t' -v t="$t" '$1 == "idle10k" && $2 == t { print $3 }' "$SKIPPED")"
            if [ -n "$skip" ]; then echo "| $t | skipped: $skip |"; continue; fi
            idle_row "$t"
        done
    fi
    if has_target canarygate; then issue_targets; fi
    echo
    echo "<details><summary>Per-round figures</summary>"
    if [ -s "$IDLE_RESULTS" ]; then
        echo
        echo "| idle10k round | target | established | VmRSS kB before → after → after close | bytes / idle conn | probe req/s | p50 ms | p99 ms | p99.9 ms | probe CPU µs/req | failed | non-2xx |"
        echo "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        awk -v n="$IDLE_CONNS" '{ printf "| %s | %s | %s | %s → %s → %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n", $2, $1, $5, $3, $4, $13, ($4 - $3) * 1024 / n, $6, $7, $8, $9, $12, $10, $11 }' "$IDLE_RESULTS"
    fi
    echo
    echo "| workload | round | target | req/s | requests | MiB/s | CPU µs/req | user | sys | client conns/req | upstream conns/req | non-2xx | errors |"
    echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $3, $2, $4, $5, $13, $6, $7, $8, $9, $10, $11, $12 }' "$RESULTS"
    echo
    echo "</details>"
}
