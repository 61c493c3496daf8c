#!/usr/bin/env bash
# Purpose: benchmark Canarygate against HAProxy (same nginx upstreams, same 80/20 split): req/s, CPU µs/request, fixed-rate p99, syscalls/request.
#
# Usage (from anywhere; paths are relative to the repository root):
#   benchmarks/proxy-compare.sh
#   ROUNDS=5 DURATION=10s benchmarks/proxy-compare.sh
#   TARGETS="haproxy nginx" DURATION=3s ROUNDS=1 benchmarks/proxy-compare.sh   # harness smoke test, no Canarygate
# See benchmarks/README.md for every knob and how to read the output.
set -euo pipefail

# ---------------------------------------------------------------- settings
ROUNDS="${ROUNDS:-3}"                    # alternating saturation rounds
DURATION="${DURATION:-10s}"              # wrk duration per round and target (wrk syntax: 10s, 1m)
WARMUP="${WARMUP:-2s}"                   # one wrk warm-up per target before the rounds ("0" = none)
TARGETS="${TARGETS:-haproxy canarygate}" # any of: haproxy canarygate nginx (nginx = upstream hit directly, reference)
BASELINE="${BASELINE:-haproxy}"          # ratios are computed against this target
WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNS="${WRK_CONNS:-64}"
RATE_TOTAL="${RATE_TOTAL:-10000}"        # fixed-rate phase: total requests/s (spread over RATE_CLIENTS)
RATE_CLIENTS="${RATE_CLIENTS:-16}"
RATE_SECONDS="${RATE_SECONDS:-}"         # fixed-rate phase length; defaults to DURATION
SYSCALLS="${SYSCALLS:-auto}"             # auto | perf | strace | none
CANARYGATE_BIN="${CANARYGATE_BIN:-.build/release/canarygate}"
CANARYGATE_THREADS="${CANARYGATE_THREADS:-2}"
HAPROXY_THREADS="${HAPROXY_THREADS:-2}"
KEEP_LOGS="${KEEP_LOGS:-}"               # if set to a directory, raw tool outputs are copied there

PORT_PRIMARY=18001
PORT_CANARY=18002
PORT_HAPROXY=18080
PORT_CANARYGATE=18081
PORT_ADMIN=18901

# ---------------------------------------------------------------- helpers
LOG_TAG=bench
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=benchmarks/lib.sh
source "$SCRIPT_DIR/lib.sh"   # log, die, need, targets, cleanup, port checks, nginx/HAProxy/Canarygate startup

# "10s" / "1m" / "500ms" / "3" -> seconds (may be fractional)
to_seconds() {
    local v="$1"
    case "$v" in
        *ms) awk -v x="${v%ms}" 'BEGIN { print x / 1000 }' ;;
        *s)  echo "${v%s}" ;;
        *m)  awk -v x="${v%m}" 'BEGIN { print x * 60 }' ;;
        *h)  awk -v x="${v%h}" 'BEGIN { print x * 3600 }' ;;
        *)   echo "$v" ;;
    esac
}

REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"

command_line "benchmarks/proxy-compare.sh${*:+ $*}" ROUNDS DURATION WARMUP TARGETS BASELINE WRK_THREADS WRK_CONNS \
    RATE_TOTAL RATE_CLIENTS RATE_SECONDS SYSCALLS CANARYGATE_BIN CANARYGATE_THREADS HAPROXY_THREADS
parse_targets haproxy canarygate nginx

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
DURATION_S="$(to_seconds "$DURATION")"
RATE_SECONDS_S="$(to_seconds "${RATE_SECONDS:-$DURATION}")"
[ "$RATE_TOTAL" -ge "$RATE_CLIENTS" ] || die "RATE_TOTAL must be >= RATE_CLIENTS"
# h2load: --rps is per client; -n is the total number of requests.
RATE_PER_CLIENT=$(( RATE_TOTAL / RATE_CLIENTS ))
RATE_EFFECTIVE=$(( RATE_PER_CLIENT * RATE_CLIENTS ))
RATE_N="$(awk -v r="$RATE_EFFECTIVE" -v s="$RATE_SECONDS_S" 'BEGIN { printf "%d", r * s }')"

need wrk; need nginx; need curl; need ss; need awk; need getconf
has_target haproxy && need haproxy
need h2load
# (no "cmd | grep -q" under pipefail: grep exits at the first match and cmd may die of SIGPIPE)
H2LOAD_HELP="$(h2load --help 2>&1 || true)"
grep -q -- '--rps' <<<"$H2LOAD_HELP" || die "this h2load has no --rps (per-client request rate); the fixed-rate phase needs it (-r is the *connection* rate)"

CLK_TCK="$(getconf CLK_TCK)"

# ---------------------------------------------------------------- 1. state & cleanup; ports must be free
init_run bench
preflight

# ---------------------------------------------------------------- process helpers
target_pid() {
    case "$1" in
        nginx) echo "${PID_OF[nginx]}" ;;
        *) echo "${PID_OF[$1]}" ;;
    esac
}

# ---------------------------------------------------------------- 2.-4. nginx upstream, HAProxy, Canarygate
start_nginx
if has_target haproxy; then start_haproxy 4096 30s 10s 60s; fi
if has_target canarygate; then start_canarygate; fi

# ---------------------------------------------------------------- sanity: 200s and the split
# 200 requests over one keep-alive connection; count the X-Arm header the upstream adds.
for t in "${TARGET_LIST[@]}"; do
    port="$(target_port "$t")"
    urls=(); for i in $(seq 1 200); do urls+=("http://127.0.0.1:$port/"); done
    curl -sS --max-time 20 -D "$TMP/sanity-$t.hdr" "${urls[@]}" >/dev/null \
        || die "$t: sanity requests to :$port failed"
    n200="$(grep -c '^HTTP/1.1 200' "$TMP/sanity-$t.hdr" || true)"
    nv2="$(grep -ci '^x-arm: v2' "$TMP/sanity-$t.hdr" || true)"
    [ "$n200" -eq 200 ] || die "$t: only $n200/200 sanity requests answered 200"
    log "sanity $t: 200/200 OK, canary share $nv2/200 (expect 40 for an 80/20 split, 0 for nginx direct)"
done

# ---------------------------------------------------------------- measurement primitives

# wrk_round TARGET TAG DURATION -> sets WRK_RES="rps requests cpu_us_per_req p99_ms non2xx sockerr"
WRK_RES=""
wrk_round() {
    local t="$1" tag="$2" dur="$3" port pid c0 c1 out
    port="$(target_port "$t")"; pid="$(target_pid "$t")"
    out="$TMP/wrk-$tag-$t.txt"
    c0="$(tree_cpu_ticks "$pid")"
    bg_run "$out" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$dur" --latency "http://127.0.0.1:$port/" \
        || { cat "$out" >&2; die "wrk against $t failed"; }
    c1="$(tree_cpu_ticks "$pid")"
    kill -0 "$pid" 2>/dev/null || die "$t died during the wrk run"
    WRK_RES="$(awk -v c0="$c0" -v c1="$c1" -v hz="$CLK_TCK" '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /requests in/        { req = $1 }
        /^Requests\/sec:/    { rps = $2 }
        /^ +99%/             { p99 = ms($2) }
        /Non-2xx or 3xx/     { non2xx = $NF }
        /Socket errors:/     { gsub(/,/, ""); sockerr = $4 + $6 + $8 + $10 }
        END {
            cpu = (req > 0) ? (c1 - c0) * 1000000 / hz / req : 0
            printf "%.0f %d %.2f %.3f %d %d\n", rps, req, cpu, p99, non2xx + 0, sockerr + 0
        }' "$out")"
}

# ---------------------------------------------------------------- 5. saturation rounds
if [ "$WARMUP" != "0" ]; then
    for t in "${TARGET_LIST[@]}"; do
        log "warm-up $t ($WARMUP)"
        wrk_round "$t" warmup "$WARMUP"
    done
fi

RESULTS="$TMP/rounds.tsv"    # target round rps requests cpu_us p99_ms non2xx sockerr
: >"$RESULTS"
n="${#TARGET_LIST[@]}"
for r in $(seq 1 "$ROUNDS"); do
    # Rotate the order every round so no target always runs first (or last).
    for k in $(seq 0 $(( n - 1 ))); do
        t="${TARGET_LIST[$(( (k + r - 1) % n ))]}"
        log "round $r/$ROUNDS: $t (wrk -t$WRK_THREADS -c$WRK_CONNS -d$DURATION)"
        wrk_round "$t" "r$r" "$DURATION"; res="$WRK_RES"
        echo "$t $r $res" >>"$RESULTS"
        read -r rps req cpu p99 non2xx sockerr <<<"$res"
        log "  $t: $rps req/s, $cpu CPU µs/req, wrk p99 ${p99} ms, non-2xx/3xx $non2xx, socket errors $sockerr"
    done
done

# ---------------------------------------------------------------- 6. p99 at a fixed rate (h2load --rps)
RATE_RESULTS="$TMP/rate.tsv"   # target achieved_rps p50_ms p99_ms p999_ms max_ms failed non2xx cpu_us
: >"$RATE_RESULTS"
for t in "${TARGET_LIST[@]}"; do
    port="$(target_port "$t")"; pid="$(target_pid "$t")"
    logf="$TMP/h2load-$t.log"; out="$TMP/h2load-$t.txt"
    log "fixed rate $t: h2load --h1 -n $RATE_N -c $RATE_CLIENTS --rps $RATE_PER_CLIENT (= $RATE_EFFECTIVE req/s for ${RATE_SECONDS_S}s)"
    c0="$(tree_cpu_ticks "$pid")"
    bg_run "$out" h2load --h1 -n "$RATE_N" -c "$RATE_CLIENTS" --rps "$RATE_PER_CLIENT" --log-file "$logf" \
        "http://127.0.0.1:$port/" || { cat "$out" >&2; die "h2load against $t failed"; }
    c1="$(tree_cpu_ticks "$pid")"
    # h2load prints no percentiles for HTTP/1.1; compute them from the per-request log
    # (columns: start µs since epoch, status (-1 = failed), µs until end of response).
    awk '{ print $3 }' "$logf" | sort -n >"$logf.sorted"
    total="$(wc -l <"$logf.sorted")"
    [ "$total" -gt 0 ] || { cat "$out" >&2; die "h2load against $t logged no requests"; }
    pct() { awk -v n="$total" -v q="$1" 'BEGIN { k = int(n * q); if (k < n * q) k++; if (k < 1) k = 1 } NR == k { printf "%.3f", $1 / 1000; exit }' "$logf.sorted"; }
    p50="$(pct 0.50)"; p99="$(pct 0.99)"; p999="$(pct 0.999)"; pmax="$(pct 1)"
    failed="$(awk '$2 == -1' "$logf" | wc -l)"
    non2xx="$(awk '$2 != -1 && ($2 < 200 || $2 > 299)' "$logf" | wc -l)"
    achieved="$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^req\/s/) { v = $i; gsub(/,/, "", v); print v + 0 } }' "$out")"
    cpu="$(awk -v c0="$c0" -v c1="$c1" -v hz="$CLK_TCK" -v n="$total" 'BEGIN { printf "%.2f", (c1 - c0) * 1000000 / hz / n }')"
    echo "$t ${achieved:-0} $p50 $p99 $p999 $pmax $failed $non2xx $cpu" >>"$RATE_RESULTS"
    log "  $t: achieved ${achieved:-?} req/s, p50 $p50 ms, p99 $p99 ms, p99.9 $p999 ms, failed $failed, non-2xx $non2xx, CPU $cpu µs/req"
done

# ---------------------------------------------------------------- 7. syscalls per request
SYSCALL_TOOL="$SYSCALLS"
if [ "$SYSCALL_TOOL" = auto ]; then
    PERF_PROBE="$(perf stat -x, -e raw_syscalls:sys_enter -- true 2>&1 || true)"
    if grep -q '^[0-9][0-9]*,.*raw_syscalls:sys_enter' <<<"$PERF_PROBE"; then
        SYSCALL_TOOL=perf
    elif command -v strace >/dev/null 2>&1; then
        SYSCALL_TOOL=strace
        log "perf tracepoint raw_syscalls:sys_enter unavailable; falling back to strace -c (slows the target a lot)"
    else
        SYSCALL_TOOL=none
    fi
fi
SYS_RESULTS="$TMP/syscalls.tsv"   # target syscalls requests per_req
: >"$SYS_RESULTS"
if [ "$SYSCALL_TOOL" != none ]; then
    for t in "${TARGET_LIST[@]}"; do
        port="$(target_port "$t")"; pid="$(target_pid "$t")"
        pids="$(pid_tree "$pid" | paste -sd, -)"
        sysf="$TMP/syscalls-$t.txt"; wout="$TMP/wrk-syscalls-$t.txt"
        log "syscalls $t ($SYSCALL_TOOL) during wrk -d$DURATION"
        if [ "$SYSCALL_TOOL" = perf ]; then
            # Counts every thread of the given processes for the whole wrk run (+ ~1 s idle tail).
            perf stat -x, -e raw_syscalls:sys_enter -p "$pids" -o "$sysf" -- \
                sleep "$(awk -v d="$DURATION_S" 'BEGIN { print d + 1 }')" >/dev/null 2>&1 &
        else
            targs=()
            for p in ${pids//,/ }; do for task in /proc/"$p"/task/*; do targs+=(-p "${task##*/}"); done; done
            strace -c -f -o "$sysf" "${targs[@]}" >/dev/null 2>&1 &
        fi
        spid=$!; HELPER_PIDS+=("$spid")
        sleep 0.5
        bg_run "$wout" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$DURATION" "http://127.0.0.1:$port/" \
            || { cat "$wout" >&2; die "wrk (syscall phase) against $t failed"; }
        if [ "$SYSCALL_TOOL" = strace ]; then kill -INT "$spid" 2>/dev/null || true; fi
        wait "$spid" || true
        HELPER_PIDS=("${HELPER_PIDS[@]/$spid}")
        req="$(awk '/requests in/ { print $1 }' "$wout")"
        if [ "$SYSCALL_TOOL" = perf ]; then
            cnt="$(awk -F, '/raw_syscalls:sys_enter/ { print $1 }' "$sysf")"
        else
            cnt="$(awk '$NF == "total" { print $4 }' "$sysf" | tail -1)"   # % time, seconds, usecs/call, calls, [errors], total
        fi
        [[ "${cnt:-}" =~ ^[0-9]+$ ]] || { cat "$sysf" >&2; log "  could not read a syscall count for $t"; cnt=0; }
        per="$(awk -v c="$cnt" -v n="${req:-0}" 'BEGIN { if (n > 0) printf "%.2f", c / n; else print "n/a" }')"
        echo "$t $cnt ${req:-0} $per" >>"$SYS_RESULTS"
        log "  $t: $cnt syscalls / ${req:-0} requests = $per per request"
    done
fi

# ---------------------------------------------------------------- 8. report
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$3"; }

declare -A MED_RPS MED_CPU MED_P99W SUM_NON2XX SUM_SOCK
for t in "${TARGET_LIST[@]}"; do
    MED_RPS[$t]="$(col "$t" 3 "$RESULTS" | median)"
    MED_CPU[$t]="$(col "$t" 5 "$RESULTS" | median)"
    MED_P99W[$t]="$(col "$t" 6 "$RESULTS" | median)"
    SUM_NON2XX[$t]="$(col "$t" 7 "$RESULTS" | awk '{ s += $1 } END { print s + 0 }')"
    SUM_SOCK[$t]="$(col "$t" 8 "$RESULTS" | awk '{ s += $1 } END { print s + 0 }')"
done

ver() { "$@" 2>&1 | head -1 | tr -s ' ' || true; }
report_stamp

{
echo
echo "## Benchmark run $NOW"
echo
echo "Command: \`$CMDLINE\`"
echo
report_host_line
echo "- Tools: wrk $(wrk -v 2>&1 | head -1 | awk '{ print $2 }'); $(haproxy -v 2>/dev/null | head -1 | awk '{ print "HAProxy", $3 }'); $(nginx -v 2>&1 | sed 's/.*\///' | sed 's/^/nginx /'); $(ver h2load --version); $(ver perf --version); $(ver strace -V)"
echo "- Canarygate: $( has_target canarygate && echo "$CANARYGATE_BIN @ $CG_VERSION, --threads $CANARYGATE_THREADS" || echo "not measured in this run")"
echo "- Setup: nginx upstream (1 worker) on :$PORT_PRIMARY (primary) / :$PORT_CANARY (canary); HAProxy nbthread $HAPROXY_THREADS, roundrobin 80/20, http-reuse always, forwardfor; Canarygate canary weight 20. All on one $(nproc)-core machine, load generator included."
echo "- Saturation: \`wrk -t$WRK_THREADS -c$WRK_CONNS -d$DURATION --latency\`, $ROUNDS alternating round(s), medians shown; CPU = utime+stime of the target's processes (all threads) / requests completed (tick = $(( 1000000 / CLK_TCK )) µs)."
echo "- Fixed rate: \`h2load --h1 -n $RATE_N -c $RATE_CLIENTS --rps $RATE_PER_CLIENT\` (= $RATE_EFFECTIVE req/s total); percentiles from \`--log-file\`."
echo "- Syscalls: $( case "$SYSCALL_TOOL" in perf) echo "\`perf stat -e raw_syscalls:sys_enter -p PID\` over a separate \`wrk -d$DURATION\` run";; strace) echo "\`strace -c -f\` over a separate \`wrk -d$DURATION\` run (strace slows the target; counts only)";; *) echo "not measured";; esac )"
echo
echo "| target | req/s (median) | CPU µs/req (median) | wrk p99 ms (saturated) | p50 ms @ fixed rate | p99 ms @ fixed rate | p99.9 ms @ fixed rate | CPU µs/req @ fixed rate | syscalls/req | errors (non-2xx, socket, h2load failed) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for t in "${TARGET_LIST[@]}"; do
    read -r _ ach p50 p99 p999 pmax failed rnon2xx rcpu <<<"$(awk -v t="$t" '$1 == t' "$RATE_RESULTS")"
    spr="$(awk -v t="$t" '$1 == t { print $4 }' "$SYS_RESULTS")"
    label="$t"; [ "$t" = nginx ] && label="nginx direct (reference)"
    echo "| $label | ${MED_RPS[$t]} | ${MED_CPU[$t]} | ${MED_P99W[$t]} | $p50 | $p99 | $p999 | $rcpu | ${spr:-n/a} | ${SUM_NON2XX[$t]}+$rnon2xx, ${SUM_SOCK[$t]}, $failed |"
done
if has_target "$BASELINE" && [ "${#TARGET_LIST[@]}" -gt 1 ]; then
    echo
    echo "Ratios against $BASELINE (issue #2 target for Canarygate: req/s ≥ 1.2×, CPU/req ≤ 0.7×):"
    echo
    echo "| target / $BASELINE | req/s | CPU µs/req | p99 @ fixed rate | syscalls/req |"
    echo "|---|---:|---:|---:|---:|"
    bp99="$(awk -v t="$BASELINE" '$1 == t { print $4 }' "$RATE_RESULTS")"
    bsys="$(awk -v t="$BASELINE" '$1 == t { print $4 }' "$SYS_RESULTS")"
    for t in "${TARGET_LIST[@]}"; do
        [ "$t" = "$BASELINE" ] && continue
        tp99="$(awk -v t="$t" '$1 == t { print $4 }' "$RATE_RESULTS")"
        tsys="$(awk -v t="$t" '$1 == t { print $4 }' "$SYS_RESULTS")"
        awk -v t="$t" -v b="$BASELINE" -v r1="${MED_RPS[$t]}" -v r0="${MED_RPS[$BASELINE]}" \
            -v c1="${MED_CPU[$t]}" -v c0="${MED_CPU[$BASELINE]}" -v p1="$tp99" -v p0="$bp99" \
            -v s1="${tsys:-n/a}" -v s0="${bsys:-n/a}" '
            function ratio(a, b) { return (b + 0 > 0 && a ~ /^[0-9.]+$/) ? sprintf("%.2f×", a / b) : "n/a" }
            BEGIN {
                rr = ratio(r1, r0); cr = ratio(c1, c0)
                if (t == "canarygate" && rr != "n/a") rr = rr ((r1 / r0 >= 1.2) ? " (meets ≥1.2×)" : " (misses ≥1.2×)")
                if (t == "canarygate" && cr != "n/a") cr = cr ((c1 / c0 <= 0.7) ? " (meets ≤0.7×)" : " (misses ≤0.7×)")
                printf "| %s / %s | %s | %s | %s | %s |\n", t, b, rr, cr, ratio(p1, p0), ratio(s1, s0)
            }'
    done
fi
echo
echo "<details><summary>Per-round figures</summary>"
echo
echo "| round | target | req/s | requests | CPU µs/req | wrk p99 ms | non-2xx | socket errors |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
sort -k2,2n -s "$RESULTS" | awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $2, $1, $3, $4, $5, $6, $7, $8 }'
echo
echo "</details>"
} >"$TMP/report.md"

# Warnings about errors go to stderr so they are seen even when stdout is redirected.
for t in "${TARGET_LIST[@]}"; do
    if [ "${SUM_NON2XX[$t]}" != 0 ] || [ "${SUM_SOCK[$t]}" != 0 ]; then
        log "WARNING: $t had ${SUM_NON2XX[$t]} non-2xx/3xx responses and ${SUM_SOCK[$t]} socket errors under wrk"
    fi
done
awk '$7 != 0 || $8 != 0 { print "[bench] WARNING: " $1 " had " $7 " failed and " $8 " non-2xx requests in the fixed-rate phase" }' "$RATE_RESULTS" >&2

cat "$TMP/report.md"
