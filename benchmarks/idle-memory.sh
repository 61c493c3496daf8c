#!/usr/bin/env bash
# Purpose: memory cost of an idle keep-alive client connection, HAProxy vs Canarygate (VmRSS delta / connections), same upstream.
#
# Usage (from anywhere; paths are relative to the repository root):
#   benchmarks/idle-memory.sh                 # CONNS=5000, nginx upstream
#   CONNS=2000 benchmarks/idle-memory.sh
#   UPSTREAM=slow benchmarks/idle-memory.sh   # a slow upstream (SLOW_DELAY s per response, INFLIGHT 64 by default)
#   TARGETS=haproxy benchmarks/idle-memory.sh # harness smoke test, no Canarygate
# Progress on stderr, report (markdown) on stdout. See benchmarks/README.md ("Idle connection memory").
set -euo pipefail

# ---------------------------------------------------------------- settings
CONNS="${CONNS:-5000}"                   # idle keep-alive client connections opened per target
UPSTREAM="${UPSTREAM:-nginx}"            # nginx, or slow: benchmarks/slow_upstream.py answering after SLOW_DELAY s
SLOW_DELAY="${SLOW_DELAY:-0.2}"          # UPSTREAM=slow: seconds each response waits
# Connections being set up / waiting for their response at once; behind a slow upstream they pile up
# while clients arrive, which is what leaves buffers in a proxy's pools.
INFLIGHT="${INFLIGHT:-$([ "$UPSTREAM" = slow ] && echo 64 || echo 16)}"
WARMUP_REQUESTS="${WARMUP_REQUESTS:-1000}"
WARMUP_CONNS="${WARMUP_CONNS:-8}"
SETTLE="${SETTLE:-3}"                    # seconds to wait after the last response before reading VmRSS (a pool frees what a whole second left unused)
CLIENT_TIMEOUT="${CLIENT_TIMEOUT:-60}"   # the client aborts its open/request phase after this many seconds
TARGETS="${TARGETS:-haproxy canarygate}" # any of: haproxy canarygate
CANARYGATE_BIN="${CANARYGATE_BIN:-.build/release/canarygate}"
CANARYGATE_THREADS="${CANARYGATE_THREADS:-2}"
HAPROXY_THREADS="${HAPROXY_THREADS:-2}"
KEEP_LOGS="${KEEP_LOGS:-}"               # if set to a directory, configs and logs are copied there

PORT_PRIMARY=18101
PORT_CANARY=18102
PORT_HAPROXY=18180
PORT_CANARYGATE=18181
PORT_ADMIN=18911

# ---------------------------------------------------------------- helpers
LOG_TAG=idle-mem
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=benchmarks/lib.sh
source "$SCRIPT_DIR/lib.sh"   # log, die, need, targets, cleanup, port checks, nginx/HAProxy/Canarygate startup
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"
CLIENT="$SCRIPT_DIR/idle_clients.py"

command_line "benchmarks/idle-memory.sh${*:+ $*}" CONNS UPSTREAM SLOW_DELAY INFLIGHT WARMUP_REQUESTS WARMUP_CONNS SETTLE CLIENT_TIMEOUT \
    TARGETS CANARYGATE_BIN CANARYGATE_THREADS HAPROXY_THREADS
parse_targets haproxy canarygate

[[ "$CONNS" =~ ^[1-9][0-9]*$ ]] || die "CONNS must be a positive integer (got '$CONNS')"
[[ "$UPSTREAM" =~ ^(nginx|slow)$ ]] || die "UPSTREAM must be nginx or slow (got '$UPSTREAM')"
[[ "$SLOW_DELAY" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "SLOW_DELAY must be a number of seconds (got '$SLOW_DELAY')"
[[ "$INFLIGHT" =~ ^[1-9][0-9]*$ ]] || die "INFLIGHT must be a positive integer (got '$INFLIGHT')"
[[ "$WARMUP_CONNS" =~ ^[1-9][0-9]*$ ]] || die "WARMUP_CONNS must be a positive integer"
[[ "$WARMUP_REQUESTS" =~ ^[0-9]+$ ]] || die "WARMUP_REQUESTS must be a non-negative integer"
# Client connections come from the ephemeral port range of 127.0.0.1 -> 127.0.0.1:PORT.
read -r EPH_LO EPH_HI </proc/sys/net/ipv4/ip_local_port_range
[ "$CONNS" -lt $(( EPH_HI - EPH_LO - 1000 )) ] || die "CONNS=$CONNS is too close to the ephemeral port range ($EPH_LO-$EPH_HI)"

need nginx; need python3; need ss; need awk; need curl
has_target haproxy && need haproxy

# ---------------------------------------------------------------- file descriptors
# The client holds CONNS sockets, the target CONNS client sockets plus its upstream ones; the
# targets are started below and inherit this limit.
FD_NEED=$(( 3 * CONNS + 1000 ))
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$FD_NEED" ]; then
    if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$FD_NEED" ]; then
        ulimit -Hn "$FD_NEED" 2>/dev/null || die "cannot raise the hard fd limit from $(ulimit -Hn) to $FD_NEED = 3 × CONNS + 1000 (needs root with CAP_SYS_RESOURCE); lower CONNS"
    fi
    ulimit -Sn "$FD_NEED" || die "cannot raise the fd limit to $FD_NEED"
fi
log "fd limit: $(ulimit -Sn) (need $FD_NEED for CONNS=$CONNS)"
HAPROXY_MAXCONN=$(( CONNS + 1000 ))

# ---------------------------------------------------------------- state & cleanup
before_cleanup() { : >"$TMP/release" 2>/dev/null || true; }   # lets a holding client close its sockets itself
init_run idlemem
preflight

# ---------------------------------------------------------------- process helpers
# Established TCP connections with local port $1 (the proxy's accepted client connections).
conns_on_port() { ss -Htn state established "( sport = :$1 )" | wc -l; }
# Established connections of process $1 to the nginx upstream ports (its upstream side).
upstream_conns() {
    ss -Htnp state established "( dport = :$PORT_PRIMARY or dport = :$PORT_CANARY )" | grep -c "pid=$1," || true
}

# ---------------------------------------------------------------- upstream and targets
if [ "$UPSTREAM" = slow ]; then
    log "starting the slow upstream (${SLOW_DELAY} s per response) on :$PORT_PRIMARY (primary) and :$PORT_CANARY (canary)"
    python3 "$SCRIPT_DIR/slow_upstream.py" --port "$PORT_PRIMARY" --arm v1 --port "$PORT_CANARY" --arm v2 --delay "$SLOW_DELAY" \
        >"$TMP/slow-upstream.log" 2>&1 &
    SLOW_PID=$!; HELPER_PIDS+=("$SLOW_PID")
    wait_port "$SLOW_PID" "$PORT_PRIMARY" slow-upstream "$TMP/slow-upstream.log"
    wait_port "$SLOW_PID" "$PORT_CANARY" slow-upstream "$TMP/slow-upstream.log"
else
    start_nginx
fi
if has_target haproxy; then
    start_haproxy "$HAPROXY_MAXCONN" 120s 120s 120s
    # HAProxy lowers maxconn (with a warning) if it cannot get enough descriptors: refuse that.
    if grep -Eq 'ALERT|WARNING' "$TMP/haproxy/haproxy.log"; then
        cat "$TMP/haproxy/haproxy.log" >&2
        die "haproxy reported alerts/warnings at startup (log above)"
    fi
    hfd="$(awk '$1 == "Max" && $2 == "open" { print $4 }' "/proc/${PID_OF[haproxy]}/limits")"
    log "haproxy fd limit: $hfd"
fi
if has_target canarygate; then
    start_canarygate "timeouts: { idle: 120s, requestHeader: 120s }"
    cfd="$(awk '$1 == "Max" && $2 == "open" { print $4 }' "/proc/${PID_OF[canarygate]}/limits")"
    log "canarygate fd limit: $cfd"
fi

# ---------------------------------------------------------------- measurement
# bg_client OUTFILE ARGS... : runs the python client in the background (so a signal to this
# script is handled at once) and leaves its pid in CLIENT_PID.
CLIENT_PID=""
bg_client() {
    local out="$1"; shift
    python3 "$CLIENT" "$@" >"$out" 2>&1 &
    CLIENT_PID=$!; HELPER_PIDS+=("$CLIENT_PID")
}
forget_client() { HELPER_PIDS=("${HELPER_PIDS[@]/$CLIENT_PID}"); CLIENT_PID=""; }

RESULTS="$TMP/results.tsv"   # target before_kb after_kb conns_seen upstream_before upstream_after anon_before anon_after
: >"$RESULTS"
for t in "${TARGET_LIST[@]}"; do
    port="$(target_port "$t")"; pid="${PID_OF[$t]}"

    if [ "$WARMUP_REQUESTS" -gt 0 ]; then
        log "$t: warm-up, $WARMUP_REQUESTS requests over $WARMUP_CONNS keep-alive connections"
        bg_client "$TMP/warm-$t.txt" warm --port "$port" --conns "$WARMUP_CONNS" --requests "$WARMUP_REQUESTS" \
            --timeout "$CLIENT_TIMEOUT"
        wait "$CLIENT_PID" || { cat "$TMP/warm-$t.txt" >&2; die "$t: warm-up failed"; }
        forget_client
        log "  $(tail -1 "$TMP/warm-$t.txt")"
    fi
    sleep "$SETTLE"
    kill -0 "$pid" 2>/dev/null || die "$t died during the warm-up"
    before="$(tree_status_kb "$pid")"; anon_before="$(tree_status_kb "$pid" RssAnon)"; up_before="$(upstream_conns "$pid")"
    log "$t: VmRSS before = $before kB (RssAnon $anon_before kB); upstream connections: $up_before"

    rm -f "$TMP/ready" "$TMP/release"
    log "$t: opening $CONNS keep-alive connections, one GET each ($INFLIGHT at a time)"
    bg_client "$TMP/hold-$t.txt" hold --port "$port" --conns "$CONNS" --inflight "$INFLIGHT" \
        --timeout "$CLIENT_TIMEOUT" --ready "$TMP/ready" --release "$TMP/release" --hold-max $(( CLIENT_TIMEOUT + 30 ))
    while [ ! -e "$TMP/ready" ]; do
        if ! kill -0 "$CLIENT_PID" 2>/dev/null; then
            wait "$CLIENT_PID" || true
            cat "$TMP/hold-$t.txt" >&2
            die "$t: the client exited before all connections were set up (output above)"
        fi
        sleep 0.1
    done
    ready="$(cat "$TMP/ready")"
    log "  client: $ready"
    if ! grep -q "^ok=$CONNS failed=0 idle=$CONNS\$" "$TMP/ready"; then
        cat "$TMP/hold-$t.txt" >&2
        die "$t: not every connection completed its request ($ready)"
    fi
    sleep "$SETTLE"
    kill -0 "$pid" 2>/dev/null || die "$t died while holding the connections"
    after="$(tree_status_kb "$pid")"; anon_after="$(tree_status_kb "$pid" RssAnon)"; up_after="$(upstream_conns "$pid")"
    seen="$(conns_on_port "$port")"
    log "$t: VmRSS after = $after kB (RssAnon $anon_after kB); established on :$port = $seen; upstream connections: $up_after"
    [ "$seen" -ge "$CONNS" ] || log "WARNING: $t holds only $seen of the $CONNS client connections open"
    echo "$t $before $after $seen $up_before $up_after $anon_before $anon_after" >>"$RESULTS"

    : >"$TMP/release"
    wait "$CLIENT_PID" || { cat "$TMP/hold-$t.txt" >&2; die "$t: the client failed"; }
    forget_client
    rm -f "$TMP/ready" "$TMP/release"
    log "$t: connections closed"
done

# ---------------------------------------------------------------- report
report_stamp
per_conn() { awk -v b="$1" -v a="$2" -v n="$CONNS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }'; }

{
echo
echo "## Idle connection memory $NOW"
echo
echo "Command: \`$CMDLINE\`"
echo
report_host_line
echo "- Tools: $(haproxy -v 2>/dev/null | head -1 | awk '{ print "HAProxy", $3 }'); $(nginx -v 2>&1 | sed 's/.*\///' | sed 's/^/nginx /'); $(python3 --version 2>&1)"
echo "- Upstream: $([ "$UPSTREAM" = slow ] && echo "benchmarks/slow_upstream.py, ${SLOW_DELAY} s per response" || echo "nginx, immediate responses")"
echo "- Canarygate: $( has_target canarygate && echo "$CANARYGATE_BIN @ $CG_VERSION, --threads $CANARYGATE_THREADS, timeouts idle/requestHeader 120s" || echo "not measured in this run")"
echo "- HAProxy: nbthread $HAPROXY_THREADS, maxconn $HAPROXY_MAXCONN, timeout client / http-request / http-keep-alive 120s; fd limit $(ulimit -Sn) for every target"
echo "- Method: per target, $WARMUP_REQUESTS warm-up requests over $WARMUP_CONNS connections, ${SETTLE} s pause, VmRSS (/proc/PID/status, summed over the process tree) = before; then $CONNS client connections, each one keep-alive \`GET / HTTP/1.1\` read to the end ($INFLIGHT connections in flight at a time) and left idle; ${SETTLE} s pause; VmRSS = after. Bytes per idle connection = (after − before) × 1024 / $CONNS. Kernel socket memory is not in VmRSS."
echo
echo "| target | VmRSS before (kB) | VmRSS after (kB) | Δ (kB) | bytes / idle connection | RssAnon Δ (kB) | client conns established | upstream conns before → after |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
while read -r t b a seen ub ua ab aa; do
    echo "| $t | $b | $a | $(( a - b )) | $(per_conn "$b" "$a") | $(( aa - ab )) | $seen | $ub → $ua |"
done <"$RESULTS"
if has_target haproxy && has_target canarygate; then
    read -r _ hb ha _ <<<"$(awk '$1 == "haproxy"' "$RESULTS")"
    read -r _ cb ca _ <<<"$(awk '$1 == "canarygate"' "$RESULTS")"
    echo
    awk -v hb="$hb" -v ha="$ha" -v cb="$cb" -v ca="$ca" 'BEGIN {
        if (ha - hb > 0) printf "Ratio canarygate / haproxy (bytes per idle connection): %.2f×\n", (ca - cb) / (ha - hb)
        else print "Ratio canarygate / haproxy: n/a (HAProxy VmRSS did not grow)"
    }'
fi
} >"$TMP/report.md"

cat "$TMP/report.md"
