#!/usr/bin/env bash
# Purpose: the workload matrix of issue 18: Canarygate vs HAProxy vs nginx (and a no-parsing reference forwarder) over small, bulk, chunked, churn, idle, HTTPS and h2 workloads.
#
# Usage (from anywhere; paths are relative to the repository root):
#   benchmarks/matrix.sh > /tmp/matrix.md                      # everything, ROUNDS=3, DURATION=5s (≤ 25 min)
#   QUICK=1 benchmarks/matrix.sh                               # smoke test: ROUNDS=1 DURATION=2s IDLE_CONNS=2000
#   WORKLOADS="down1m up1m" TARGETS="canarygate haproxy reference reference-splice" benchmarks/matrix.sh
# Progress on stderr, report (markdown) on stdout. See benchmarks/README.md ("The workload matrix").
set -euo pipefail

# ---------------------------------------------------------------- settings
if [ -n "${QUICK:-}" ]; then
    ROUNDS="${ROUNDS:-1}"; DURATION="${DURATION:-2s}"; IDLE_CONNS="${IDLE_CONNS:-2000}"; WARMUP="${WARMUP:-1s}"
    SYSCALL_DURATION="${SYSCALL_DURATION:-1s}"
fi
ROUNDS="${ROUNDS:-3}"                    # alternating rounds per workload; medians reported
DURATION="${DURATION:-5s}"               # each measured load run (wrk -d / h2load -D / the idle probe)
WARMUP="${WARMUP:-1s}"                   # one warm-up run per workload and target ("0" = none)
SYSCALL_DURATION="${SYSCALL_DURATION:-2s}"   # the separate run syscalls are counted over
ALL_WORKLOADS="small down64k down1m up64k up1m chunked-down chunked-up churn idle10k https-small https-down1m h2-small h2-down1m"
WORKLOADS="${WORKLOADS:-$ALL_WORKLOADS}"
TARGETS="${TARGETS:-canarygate haproxy nginx reference}"   # also: reference-splice
BASELINE="${BASELINE:-haproxy}"
SYSCALLS="${SYSCALLS:-auto}"             # auto | perf | strace | none
WRK_THREADS="${WRK_THREADS:-2}"
H2LOAD_THREADS="${H2LOAD_THREADS:-2}"
IDLE_CONNS="${IDLE_CONNS:-10000}"        # idle10k: idle keep-alive clients held open
IDLE_INFLIGHT="${IDLE_INFLIGHT:-64}"     # idle10k: connections being set up at once
IDLE_ROUNDS="${IDLE_ROUNDS:-1}"          # idle10k rounds per target: later ones reuse memory the first left behind
PROBE_RATE="${PROBE_RATE:-1000}"         # idle10k: the probe's total req/s (h2load --h1 --rps)
PROBE_CLIENTS="${PROBE_CLIENTS:-10}"
CANARYGATE_BIN="${CANARYGATE_BIN:-.build/release/canarygate}"
CANARYGATE_THREADS="${CANARYGATE_THREADS:-2}"
HAPROXY_THREADS="${HAPROXY_THREADS:-2}"
NGINX_WORKERS="${NGINX_WORKERS:-2}"      # worker_processes of the nginx *proxy* (the upstream keeps 1)
FORWARDER_SRC="${FORWARDER_SRC:-benchmarks/reference/forwarder.c}"
FORWARDER_THREADS="${FORWARDER_THREADS:-2}"
KEEP_LOGS="${KEEP_LOGS:-}"

# Ports 184xx: distinct from proxy-compare (180xx), idle-memory (181xx), tls-compare (182xx), h2-compare (183xx).
PORT_PRIMARY=18401
PORT_CANARY=18402
PORT_SINK=18403
PORT_HAPROXY=18410
PORT_HAPROXY_TLS=18411
PORT_CANARYGATE=18420
PORT_CANARYGATE_TLS=18421
PORT_ADMIN=18429
PORT_NGINX=18430
PORT_NGINX_TLS=18431
PORT_REFERENCE=18440
PORT_REFERENCE_SPLICE=18441

# ---------------------------------------------------------------- helpers
LOG_TAG=matrix
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=benchmarks/lib.sh
source "$SCRIPT_DIR/lib.sh"
# shellcheck source=benchmarks/matrix_setup.sh
source "$SCRIPT_DIR/matrix_setup.sh"
# shellcheck source=benchmarks/matrix_report.sh
source "$SCRIPT_DIR/matrix_report.sh"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"
CLIENT="$SCRIPT_DIR/idle_clients.py"

command_line "benchmarks/matrix.sh${*:+ $*}" QUICK ROUNDS DURATION WARMUP SYSCALL_DURATION WORKLOADS TARGETS BASELINE SYSCALLS \
    WRK_THREADS H2LOAD_THREADS IDLE_CONNS IDLE_INFLIGHT IDLE_ROUNDS PROBE_RATE PROBE_CLIENTS CANARYGATE_BIN CANARYGATE_THREADS \
    HAPROXY_THREADS NGINX_WORKERS FORWARDER_SRC FORWARDER_THREADS
parse_targets canarygate haproxy nginx reference reference-splice
read -r -a WORKLOAD_LIST <<<"$WORKLOADS"
[ "${#WORKLOAD_LIST[@]}" -gt 0 ] || die "WORKLOADS is empty"
for w in "${WORKLOAD_LIST[@]}"; do [[ " $ALL_WORKLOADS " == *" $w "* ]] || die "unknown workload '$w' (allowed: $ALL_WORKLOADS)"; done
has_workload() { [[ " ${WORKLOAD_LIST[*]} " == *" $1 "* ]]; }

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
for v in IDLE_CONNS IDLE_INFLIGHT IDLE_ROUNDS PROBE_RATE PROBE_CLIENTS NGINX_WORKERS WRK_THREADS H2LOAD_THREADS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[ "$PROBE_RATE" -ge "$PROBE_CLIENTS" ] || die "PROBE_RATE must be >= PROBE_CLIENTS"
case "$SYSCALLS" in auto|perf|strace|none) ;; *) die "SYSCALLS must be auto, perf, strace or none" ;; esac
DURATION_S="$(duration_seconds "$DURATION")"
SYSCALL_DURATION_S="$(duration_seconds "$SYSCALL_DURATION")"
# Whole seconds, minutes or hours: what both wrk and h2load accept.
for v in DURATION SYSCALL_DURATION; do
    [[ "${!v}" =~ ^[1-9][0-9]*[smh]?$ ]] || die "$v must be a duration such as 5s or 1m (got '${!v}')"
done
[[ "$WARMUP" =~ ^([1-9][0-9]*[smh]?|0)$ ]] || die "WARMUP must be a duration such as 1s, or 0 (got '$WARMUP')"

need wrk; need h2load; need nginx; need curl; need ss; need awk; need getconf; need openssl; need timeout
has_target haproxy && need haproxy
[ "$SYSCALLS" = perf ] && need perf
[ "$SYSCALLS" = strace ] && need strace
{ has_target reference || has_target reference-splice; } && need cc
has_workload idle10k && need python3
CLK_TCK="$(getconf CLK_TCK)"

# ---------------------------------------------------------------- file descriptors
# Every process started below inherits the soft limit, raised to the hard one: the idle10k client
# and each proxy hold IDLE_CONNS sockets (the reference forwarder twice that: one upstream each).
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT="$(ulimit -Sn)"; [ "$FD_LIMIT" = unlimited ] && FD_LIMIT=1048576
if has_workload idle10k && [ "$FD_LIMIT" -lt $(( IDLE_CONNS + 1000 )) ]; then
    die "IDLE_CONNS=$IDLE_CONNS needs $(( IDLE_CONNS + 1000 )) descriptors per process; the limit is $FD_LIMIT"
fi
UPSTREAM_CONNS=$(( 2 * IDLE_CONNS + 2000 < FD_LIMIT - 100 ? 2 * IDLE_CONNS + 2000 : FD_LIMIT - 100 ))
PROXY_MAXCONN=$(( IDLE_CONNS + 1000 > 4096 ? IDLE_CONNS + 1000 : 4096 ))

# ---------------------------------------------------------------- workloads
# workload_spec W : KIND (wrk | h2 | idle), SCHEME, URL_PATH, CONNS, STREAMS (h2), WRK_ARGS and BODY
# (payload bytes per request: the response body of a download, the request body of an upload; 0 = none).
workload_spec() {
    KIND=wrk; SCHEME=http; URL_PATH=/; CONNS=64; STREAMS=1; WRK_ARGS=(); BODY=0
    case "$1" in
        small) ;;
        down64k) URL_PATH=/f/64k; CONNS=16; BODY=65536 ;;
        down1m) URL_PATH=/f/1m; CONNS=16; BODY=1048576 ;;
        up64k) URL_PATH=/upload; CONNS=16; BODY=65536; WRK_ARGS=(-s "$TMP/lua/up-64k.lua") ;;
        up1m) URL_PATH=/upload; CONNS=16; BODY=1048576; WRK_ARGS=(-s "$TMP/lua/up-1m.lua") ;;
        chunked-down) URL_PATH=/c/256k; CONNS=16; BODY=262144 ;;
        chunked-up) URL_PATH=/upload; CONNS=16; BODY=65536; WRK_ARGS=(-s "$TMP/lua/up-chunked.lua") ;;
        churn) WRK_ARGS=(-H "Connection: close") ;;
        idle10k) KIND=idle ;;
        https-small) SCHEME=https ;;
        https-down1m) SCHEME=https; URL_PATH=/f/1m; CONNS=16; BODY=1048576 ;;
        h2-small) KIND=h2; SCHEME=https; CONNS=32; STREAMS=10 ;;
        h2-down1m) KIND=h2; SCHEME=https; URL_PATH=/f/1m; CONNS=16; STREAMS=1; BODY=1048576 ;;
    esac
}

# Why TARGET is not measured in workload W ("" = it is).
skip_reason() {
    local t="$1" w="$2"
    workload_spec "$w"
    case "$t" in
        reference|reference-splice)
            if [ "$SCHEME" = https ]; then echo "the reference forwarder has no TLS"; return; fi
            if [ "$KIND" = idle ] && [ "$FD_LIMIT" -lt $(( 2 * IDLE_CONNS + 100 )) ]; then
                echo "it holds an upstream connection per client: $(( 2 * IDLE_CONNS )) descriptors, above the limit $FD_LIMIT"
            fi ;;
    esac
}

port_of() {   # TARGET SCHEME
    case "$1.$2" in
        haproxy.http) echo "$PORT_HAPROXY" ;;       haproxy.https) echo "$PORT_HAPROXY_TLS" ;;
        canarygate.http) echo "$PORT_CANARYGATE" ;; canarygate.https) echo "$PORT_CANARYGATE_TLS" ;;
        nginx.http) echo "$PORT_NGINX" ;;           nginx.https) echo "$PORT_NGINX_TLS" ;;
        reference.http) echo "$PORT_REFERENCE" ;;   reference-splice.http) echo "$PORT_REFERENCE_SPLICE" ;;
    esac
}
target_pid() {
    case "$1" in
        nginx) echo "$NGINX_PROXY_PID" ;;
        reference|reference-splice) echo "${FORWARDER_PID[$1]}" ;;
        *) echo "${PID_OF[$1]}" ;;
    esac
}

# ---------------------------------------------------------------- state & cleanup; ports must be free
before_cleanup() {
    local p
    [ -n "${TMP:-}" ] && : >"$TMP/release" 2>/dev/null
    for p in ${NGINX_PROXY_PID:+$(pid_tree "$NGINX_PROXY_PID")} "${FORWARDER_PID[@]}"; do HELPER_PIDS+=("$p"); done
    return 0
}
init_run matrix
extra=("$PORT_SINK")
has_target haproxy && extra+=("$PORT_HAPROXY_TLS")
has_target canarygate && extra+=("$PORT_CANARYGATE_TLS")
has_target nginx && extra+=("$PORT_NGINX" "$PORT_NGINX_TLS")
has_target reference && extra+=("$PORT_REFERENCE")
has_target reference-splice && extra+=("$PORT_REFERENCE_SPLICE")
preflight "${extra[@]}"

# ---------------------------------------------------------------- start everything
make_payloads
make_certificate
start_matrix_upstream
if has_target haproxy; then
    # One frontend: plain, and TLS offering h2 then http/1.1 (wrk sends no ALPN: HTTP/1.1).
    # HAProxy wants 2 × maxconn descriptors (a server connection per client) and by default refuses
    # to start below that; idle clients hold no server connection, so the limit we have is enough:
    # `no strict-limits` lets it start (it warns).
    HAPROXY_GLOBAL_EXTRA=""
    [ "$FD_LIMIT" -ge $(( 2 * PROXY_MAXCONN + 100 )) ] || HAPROXY_GLOBAL_EXTRA="    no strict-limits"
    HAPROXY_FRONTEND_EXTRA="    bind 127.0.0.1:$PORT_HAPROXY_TLS ssl crt $COMBINED alpn h2,http/1.1 ssl-min-ver TLSv1.2"
    HAPROXY_FORWARDED_PROTO="%[ssl_fc,iif(https,http)]"
    start_haproxy "$PROXY_MAXCONN" 120s 120s 120s
    wait_port "${PID_OF[haproxy]}" "$PORT_HAPROXY_TLS" "haproxy (TLS bind)" "$TMP/haproxy/haproxy.log"
fi
if has_target canarygate; then
    CANARYGATE_LISTENERS_EXTRA="{ name: https, address: 127.0.0.1:$PORT_CANARYGATE_TLS, tls: { certificate: $CERT, privateKey: $KEY } }"
    start_canarygate "timeouts: { idle: 120s, requestHeader: 120s }" \
        "limits: { maxConnections: $PROXY_MAXCONN, maxIdlePerEndpoint: 1024 }"
    wait_port "${PID_OF[canarygate]}" "$PORT_CANARYGATE_TLS" "canarygate (TLS listener)" "$TMP/canarygate/canarygate.log"
fi
if has_target nginx; then start_nginx_proxy; fi
if has_target reference || has_target reference-splice; then build_forwarder; fi
if has_target reference; then start_forwarder reference "$PORT_REFERENCE"; fi
if has_target reference-splice; then start_forwarder reference-splice "$PORT_REFERENCE_SPLICE" --splice; fi

# ---------------------------------------------------------------- sanity
# The upstream: chunked on /c/, Content-Length on /f/, /upload answers only after the whole body.
curl -sS -D "$TMP/sanity-chunked.hdr" -o "$TMP/sanity-chunked.body" "http://127.0.0.1:$PORT_PRIMARY/c/256k" || die "upstream /c/256k failed"
grep -qi '^transfer-encoding: chunked' "$TMP/sanity-chunked.hdr" || { cat "$TMP/sanity-chunked.hdr" >&2; die "upstream /c/256k is not chunked"; }
cmp -s "$TMP/sanity-chunked.body" "$TMP/files/256k" || die "upstream /c/256k altered the file"
# Half a body: no answer within 1 s; the rest: 200 on the same connection.
exec 3<>"/dev/tcp/127.0.0.1/$PORT_PRIMARY"
printf 'POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 20\r\n\r\n0123456789' >&3
if read -r -t 1 line <&3; then die "upstream /upload answered before the whole body arrived: $line"; fi
printf '0123456789' >&3
read -r -t 5 line <&3 || die "upstream /upload did not answer once the whole body arrived"
[[ "$line" == "HTTP/1.1 200"* ]] || die "upstream /upload answered '$line'"
exec 3<&-
for t in "${TARGET_LIST[@]}"; do
    port="$(port_of "$t" http)"
    urls=(); for i in $(seq 1 100); do urls+=("http://127.0.0.1:$port/"); done
    curl -sS --max-time 20 -D "$TMP/sanity-$t.hdr" "${urls[@]}" >/dev/null || die "$t: sanity requests to :$port failed"
    n200="$(grep -c '^HTTP/1.1 200' "$TMP/sanity-$t.hdr" || true)"; nv2="$(grep -ci '^x-arm: v2' "$TMP/sanity-$t.hdr" || true)"
    [ "$n200" -eq 100 ] || die "$t: only $n200/100 sanity requests answered 200"
    size="$(curl -sS --max-time 20 -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/f/1m")"
    [ "$size" -eq 1048576 ] || die "$t: /f/1m gave $size bytes"
    code="$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' --data-binary "@$TMP/files/1m" "http://127.0.0.1:$port/upload")"
    [ "$code" = 200 ] || die "$t: POST /upload (1 MiB) answered $code"
    if [ -z "$(skip_reason "$t" https-small)" ]; then
        code="$(curl -sSk --max-time 20 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$(port_of "$t" https)/")"
        [ "$code" = 200 ] || die "$t: HTTPS / answered $code"
    fi
    log "sanity $t: 100/100 OK (canary share $nv2/100, expect ~20 (0 or 100 for reference: one connection, one arm)); 1 MiB download and upload OK"
done

# ---------------------------------------------------------------- measurement
# Connections accepted during a run, counted per listening port by the kernel's
# sock:inet_sock_set_state tracepoint (SYN_RECV -> ESTABLISHED is a passive open), system-wide with
# a filter: the target's port (client side) and the upstream arms' ports (upstream side). Exact even
# with other traffic on the host. Without the tracepoint (perf missing, no permission) the columns are n/a.
ACCEPT_COUNTING=""
if grep -q '^[0-9]*,.*sock:inet_sock_set_state' <<<"$(perf stat -x, -a -e sock:inet_sock_set_state --filter 'sport == 1' -- true 2>&1 || true)"; then
    ACCEPT_COUNTING=1
fi
# accept_counter OUTFILE PORT : sets COUNTER to the command prefix that counts them into OUTFILE (none: empty).
COUNTER=()
accept_counter() {
    COUNTER=()
    if [ -n "$ACCEPT_COUNTING" ]; then
        COUNTER=(perf stat -x, -a -o "$1"
            -e sock:inet_sock_set_state --filter "sport == $2 && oldstate == 3 && newstate == 1"
            -e sock:inet_sock_set_state --filter "(sport == $PORT_PRIMARY || sport == $PORT_CANARY) && oldstate == 3 && newstate == 1" --)
    else
        : >"$1"
    fi
}

# load_run TARGET WORKLOAD DURATION OUTFILE : runs the workload's load generator once against TARGET.
# Sets RES = "rps requests cpu_us user_us sys_us client_acc_per_req upstream_acc_per_req non2xx errors mib_s"
# (CPU per request of TARGET's process tree; accepts per request: connections the target accepted
# from the load generator, and the upstream nginx from the target; "n/a" when not counted).
RES=""
load_run() {
    local t="$1" w="$2" dur="$3" out="$4" pid port url u0 s0 u1 s1 limit rc=0
    workload_spec "$w"
    pid="$(target_pid "$t")"; port="$(port_of "$t" "$SCHEME")"; url="$SCHEME://127.0.0.1:$port$URL_PATH"
    limit="$(awk -v d="$(duration_seconds "$dur")" 'BEGIN { printf "%d", d + 60 }')"
    accept_counter "$out.accepts" "$port"
    read -r u0 s0 <<<"$(tree_cpu_split "$pid")"
    if [ "$KIND" = wrk ]; then
        bg_run "$out" "${COUNTER[@]}" timeout --kill-after=5 "$limit" \
            wrk -t"$WRK_THREADS" -c"$CONNS" -d"$dur" --timeout 10s "${WRK_ARGS[@]}" "$url" || rc=$?
    else
        bg_run "$out" "${COUNTER[@]}" timeout --kill-after=5 "$limit" \
            h2load -c "$CONNS" -m "$STREAMS" -t "$H2LOAD_THREADS" -D "$dur" --npn-list=h2 "$url" || rc=$?
    fi
    read -r u1 s1 <<<"$(tree_cpu_split "$pid")"
    [ "$rc" -eq 0 ] || { cat "$out" >&2; die "$KIND against $t ($w) failed (exit $rc)"; }
    kill -0 "$pid" 2>/dev/null || die "$t died during $w"
    RES="$(awk -v u="$(( u1 - u0 ))" -v s="$(( s1 - s0 ))" -v hz="$CLK_TCK" -v body="$BODY" \
        -v acc="$(awk -F, '/sock:inet_sock_set_state/ { printf "%s ", $1 }' "$out.accepts")" '
        # wrk
        /requests in/        { req = $1 }
        /^Requests\/sec:/    { rps = $2 }
        /Non-2xx or 3xx/     { bad = $NF }
        /Socket errors:/     { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
        # h2load
        /^finished in/   { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^req\/s/) { v = $i; gsub(/,/, "", v); rps = v + 0 } }
        /^requests:/     { for (i = 2; i <= NF; i++) { v = $i; k = $(i+1); gsub(/,/, "", k)
                               if (k == "succeeded") req = v; if (k == "failed" || k == "errored" || k == "timeout") err += v } }
        /^status codes:/ { for (i = 3; i <= NF; i++) { k = $(i+1); gsub(/,/, "", k); if (k ~ /^[345]xx$/) bad += $i } }
        END {
            per = (req > 0) ? 1000000 / hz / req : 0
            split(acc, a, " "); cl = "n/a"; up = "n/a"
            if (a[1] ~ /^[0-9]+$/ && req > 0) cl = sprintf("%.3f", a[1] / req)
            if (a[2] ~ /^[0-9]+$/ && req > 0) up = sprintf("%.3f", a[2] / req)
            printf "%.0f %d %.2f %.2f %.2f %s %s %d %d %.1f\n", rps, req, (u + s) * per, u * per, s * per,
                cl, up, bad + 0, err + 0, rps * body / 1048576
        }' "$out")"
}

# The syscall counter: perf's raw_syscalls tracepoint if it works, else strace -c, as proxy-compare.sh.
SYSCALL_TOOL="$SYSCALLS"
if [ "$SYSCALL_TOOL" = auto ]; then
    if grep -q '^[0-9][0-9]*,.*raw_syscalls:sys_enter' <<<"$(perf stat -x, -e raw_syscalls:sys_enter -- true 2>&1 || true)"; then
        SYSCALL_TOOL=perf
    elif command -v strace >/dev/null 2>&1; then SYSCALL_TOOL=strace
    else SYSCALL_TOOL=none
    fi
fi

# syscall_run TARGET WORKLOAD : SYSCALL_DURATION of load with the target traced; SYS_PER = syscalls / request.
SYS_PER=""
syscall_run() {
    local t="$1" w="$2" pid pids sysf spid cnt req p task targs=()
    pid="$(target_pid "$t")"; pids="$(pid_tree "$pid" | paste -sd, -)"; sysf="$TMP/syscalls-$w-$t.txt"
    if [ "$SYSCALL_TOOL" = perf ]; then
        perf stat -x, -e raw_syscalls:sys_enter -p "$pids" -o "$sysf" -- \
            sleep "$(awk -v d="$SYSCALL_DURATION_S" 'BEGIN { print d + 1 }')" >/dev/null 2>&1 &
    else
        for p in ${pids//,/ }; do for task in /proc/"$p"/task/*; do targs+=(-p "${task##*/}"); done; done
        strace -c -f -o "$sysf" "${targs[@]}" >/dev/null 2>&1 &
    fi
    spid=$!; HELPER_PIDS+=("$spid")
    sleep 0.5
    load_run "$t" "$w" "$SYSCALL_DURATION" "$TMP/load-syscalls-$w-$t.txt"
    [ "$SYSCALL_TOOL" = strace ] && kill -INT "$spid" 2>/dev/null
    wait "$spid" || true
    HELPER_PIDS=("${HELPER_PIDS[@]/$spid}")
    req="$(awk '{ print $2 }' <<<"$RES")"
    if [ "$SYSCALL_TOOL" = perf ]; then cnt="$(awk -F, '/raw_syscalls:sys_enter/ { print $1 }' "$sysf")"
    else cnt="$(awk '$NF == "total" { print $4 }' "$sysf" | tail -1)"; fi
    [[ "${cnt:-}" =~ ^[0-9]+$ ]] || { log "  could not read a syscall count for $t ($w)"; SYS_PER=n/a; return 0; }
    SYS_PER="$(awk -v c="$cnt" -v n="${req:-0}" 'BEGIN { if (n > 0) printf "%.2f", c / n; else print "n/a" }')"
}

# idle_run TARGET ROUND : IDLE_CONNS keep-alive clients held open, a fixed-rate probe through the same
# target meanwhile. Appends "target round rss_before_kb rss_after_kb established probe_rps p50 p99
# p999 failed non2xx probe_cpu_us rss_released_kb" to $IDLE_RESULTS (rss_released_kb: 1 s after the
# clients closed their connections).
CLIENT_PID=""
bg_client() { python3 "$CLIENT" "${@:2}" >"$1" 2>&1 & CLIENT_PID=$!; HELPER_PIDS+=("$CLIENT_PID"); }
forget_client() { HELPER_PIDS=("${HELPER_PIDS[@]/$CLIENT_PID}"); CLIENT_PID=""; }
idle_run() {
    local t="$1" r="$2" port pid before after released seen c0 c1 logf out per n
    port="$(port_of "$t" http)"; pid="$(target_pid "$t")"
    bg_client "$TMP/idle-warm-$t-$r.txt" warm --port "$port" --conns 8 --requests 1000 --timeout 60
    wait "$CLIENT_PID" || { cat "$TMP/idle-warm-$t-$r.txt" >&2; die "$t: idle warm-up failed"; }
    forget_client
    sleep 1
    before="$(tree_status_kb "$pid")"
    rm -f "$TMP/ready" "$TMP/release"
    bg_client "$TMP/idle-hold-$t-$r.txt" hold --port "$port" --conns "$IDLE_CONNS" --inflight "$IDLE_INFLIGHT" \
        --timeout 120 --ready "$TMP/ready" --release "$TMP/release" --hold-max "$(awk -v d="$DURATION_S" 'BEGIN { printf "%d", d + 150 }')"
    while [ ! -e "$TMP/ready" ]; do
        kill -0 "$CLIENT_PID" 2>/dev/null || { wait "$CLIENT_PID" || true; cat "$TMP/idle-hold-$t-$r.txt" >&2; die "$t: the idle client exited early"; }
        sleep 0.1
    done
    grep -q "^ok=$IDLE_CONNS failed=0 idle=$IDLE_CONNS\$" "$TMP/ready" || { cat "$TMP/idle-hold-$t-$r.txt" >&2; die "$t: not every idle connection completed its request ($(cat "$TMP/ready"))"; }
    sleep 1
    after="$(tree_status_kb "$pid")"
    seen="$(ss -Htn state established "( sport = :$port )" | wc -l)"
    per=$(( PROBE_RATE / PROBE_CLIENTS )); n="$(awk -v r="$(( per * PROBE_CLIENTS ))" -v d="$DURATION_S" 'BEGIN { printf "%d", r * d }')"
    logf="$TMP/idle-probe-$t-$r.log"; out="$TMP/idle-probe-$t-$r.txt"
    c0="$(tree_cpu_ticks "$pid")"
    bg_run "$out" timeout --kill-after=5 "$(awk -v d="$DURATION_S" 'BEGIN { printf "%d", d + 60 }')" \
        h2load --h1 -n "$n" -c "$PROBE_CLIENTS" --rps "$per" --log-file "$logf" "http://127.0.0.1:$port/" \
        || { cat "$out" >&2; die "the idle probe against $t failed"; }
    c1="$(tree_cpu_ticks "$pid")"
    : >"$TMP/release"
    wait "$CLIENT_PID" || { cat "$TMP/idle-hold-$t-$r.txt" >&2; die "$t: the idle client failed"; }
    forget_client
    rm -f "$TMP/ready" "$TMP/release"
    kill -0 "$pid" 2>/dev/null || die "$t died during idle10k"
    sleep 1
    released="$(tree_status_kb "$pid")"   # what it keeps once the clients have gone
    # h2load prints no percentiles for HTTP/1.1: from its log (start µs, status (-1 failed), µs to response end).
    awk -v t="$t" -v r="$r" -v b="$before" -v a="$after" -v rel="$released" -v seen="$seen" -v c="$(( c1 - c0 ))" -v hz="$CLK_TCK" \
        -v ach="$(awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^req\/s/) { v = $i; gsub(/,/, "", v); print v + 0 } }' "$out")" '
        { lat[++n] = $3 / 1000; if ($2 == -1) f++; else if ($2 < 200 || $2 > 299) bad++ }
        function pct(q,   k) { k = int(n * q); if (k < n * q) k++; if (k < 1) k = 1; return lat[k] }
        END {
            printf "%s %s %d %d %d %s %.3f %.3f %.3f %d %d %.2f %d\n", t, r, b, a, seen, ach + 0, pct(0.5), pct(0.99), pct(0.999),
                f + 0, bad + 0, (n > 0) ? c * 1000000 / hz / n : 0, rel
        }' <(sort -k3,3n "$logf") >>"$IDLE_RESULTS"
}

# ---------------------------------------------------------------- the matrix
RESULTS="$TMP/rounds.tsv"        # workload target round rps requests cpu user sys client_acc up_acc non2xx errors mib_s
SYS_RESULTS="$TMP/syscalls.tsv"  # workload target per_req
IDLE_RESULTS="$TMP/idle.tsv"
SKIPPED="$TMP/skipped.tsv"       # workload target reason (tab-separated)
: >"$RESULTS"; : >"$SYS_RESULTS"; : >"$IDLE_RESULTS"; : >"$SKIPPED"
for w in "${WORKLOAD_LIST[@]}"; do
    targets=()
    for t in "${TARGET_LIST[@]}"; do
        why="$(skip_reason "$t" "$w")"
        if [ -n "$why" ]; then printf '%s\t%s\t%s\n' "$w" "$t" "$why" >>"$SKIPPED"; else targets+=("$t"); fi
    done
    n="${#targets[@]}"; [ "$n" -gt 0 ] || continue
    workload_spec "$w"
    if [ "$KIND" = idle ]; then
        for r in $(seq 1 "$IDLE_ROUNDS"); do
            for k in $(seq 0 $(( n - 1 ))); do
                t="${targets[$(( (k + r - 1) % n ))]}"
                log "$w round $r/$IDLE_ROUNDS: $t ($IDLE_CONNS idle clients, probe $PROBE_RATE req/s for $DURATION)"
                idle_run "$t" "$r"
                read -r _ _ b a seen _ p50 p99 _ <<<"$(tail -1 "$IDLE_RESULTS")"
                log "  $t: $(( (a - b) * 1024 / IDLE_CONNS )) bytes per idle connection, $seen established, probe p50 $p50 ms, p99 $p99 ms"
            done
        done
        continue
    fi
    if [ "$WARMUP" != 0 ]; then
        for t in "${targets[@]}"; do load_run "$t" "$w" "$WARMUP" "$TMP/load-warmup-$w-$t.txt"; done
    fi
    for r in $(seq 1 "$ROUNDS"); do
        # The order rotates every round, so no target always runs first (or last).
        for k in $(seq 0 $(( n - 1 ))); do
            t="${targets[$(( (k + r - 1) % n ))]}"
            load_run "$t" "$w" "$DURATION" "$TMP/load-r$r-$w-$t.txt"
            echo "$w $t $r $RES" >>"$RESULTS"
            read -r rps req cpu _ _ cacc uacc bad err mib <<<"$RES"
            rate="$rps req/s"; [ "$BODY" -eq 0 ] || rate+=" ($mib MiB/s)"
            log "$w round $r/$ROUNDS $t: $rate, $cpu CPU µs/req, accepts/req client $cacc upstream $uacc, non-2xx $bad, errors $err"
        done
    done
    if [ "$SYSCALL_TOOL" != none ]; then
        for t in "${targets[@]}"; do
            syscall_run "$t" "$w"
            echo "$w $t $SYS_PER" >>"$SYS_RESULTS"
            log "$w syscalls $t ($SYSCALL_TOOL): $SYS_PER per request"
        done
    fi
done

print_report >"$TMP/report.md"
awk '$11 != 0 || $12 != 0 { print "[matrix] WARNING: " $1 " " $2 " round " $3 ": " $11 " non-2xx, " $12 " socket errors" }' "$RESULTS" >&2
cat "$TMP/report.md"
