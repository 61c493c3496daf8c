#!/usr/bin/env bash
# Purpose: memory cost of an idle keep-alive client connection, HAProxy vs Canarygate (VmRSS delta / connections), same nginx upstream.
#
# Usage (from anywhere; paths are relative to the repository root):
#   benchmarks/idle-memory.sh                 # CONNS=5000
#   CONNS=2000 benchmarks/idle-memory.sh
#   TARGETS=haproxy benchmarks/idle-memory.sh # harness smoke test, no Canarygate
# Progress on stderr, report (markdown) on stdout. See benchmarks/README.md ("Idle connection memory").
set -euo pipefail

# ---------------------------------------------------------------- settings
CONNS="${CONNS:-5000}"                   # idle keep-alive client connections opened per target
INFLIGHT="${INFLIGHT:-16}"               # connections being set up / waiting for their response at once
WARMUP_REQUESTS="${WARMUP_REQUESTS:-1000}"
WARMUP_CONNS="${WARMUP_CONNS:-8}"
SETTLE="${SETTLE:-1}"                    # seconds to wait after the last response before reading VmRSS
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
log()  { printf '[idle-mem %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '[idle-mem] ERROR: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' not found in PATH"; }

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"
CLIENT="$SCRIPT_DIR/idle_clients.py"

CMDLINE=""
for v in CONNS INFLIGHT WARMUP_REQUESTS WARMUP_CONNS SETTLE CLIENT_TIMEOUT TARGETS CANARYGATE_BIN \
         CANARYGATE_THREADS HAPROXY_THREADS; do
    if printenv "$v" >/dev/null 2>&1; then CMDLINE+="$v=\"$(printenv "$v")\" "; fi
done
CMDLINE+="benchmarks/idle-memory.sh${*:+ $*}"

read -r -a TARGET_LIST <<<"$TARGETS"
[ "${#TARGET_LIST[@]}" -gt 0 ] || die "TARGETS is empty"
for t in "${TARGET_LIST[@]}"; do
    case "$t" in haproxy|canarygate) ;; *) die "unknown target '$t' (allowed: haproxy canarygate)";; esac
done
has_target() { local t; for t in "${TARGET_LIST[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

[[ "$CONNS" =~ ^[1-9][0-9]*$ ]] || die "CONNS must be a positive integer (got '$CONNS')"
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
TMP="$(mktemp -d /tmp/canarygate-idlemem.XXXXXX)"
declare -A PID_OF=()        # nginx / haproxy / canarygate -> pid of the process we started
HELPER_PIDS=()              # python clients started in the background

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p name
    : >"$TMP/release" 2>/dev/null || true           # lets a holding client close its sockets itself
    for p in "${HELPER_PIDS[@]}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
    for name in canarygate haproxy nginx; do
        p="${PID_OF[$name]:-}"
        [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
    done
    local deadline=$(( SECONDS + 5 ))
    for p in "${HELPER_PIDS[@]}" "${PID_OF[@]}"; do
        [ -n "$p" ] || continue
        while kill -0 "$p" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
        if kill -0 "$p" 2>/dev/null; then
            log "pid $p did not exit on SIGTERM; sending SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
    for p in "${HELPER_PIDS[@]}" "${PID_OF[@]}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    if [ -n "$KEEP_LOGS" ]; then
        mkdir -p "$KEEP_LOGS" && cp -r "$TMP"/. "$KEEP_LOGS"/ 2>/dev/null || true
        log "raw logs copied to $KEEP_LOGS"
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# ---------------------------------------------------------------- ports must be free
PORTS=("$PORT_PRIMARY" "$PORT_CANARY")
has_target haproxy    && PORTS+=("$PORT_HAPROXY")
has_target canarygate && PORTS+=("$PORT_CANARYGATE" "$PORT_ADMIN")
busy=""
for p in "${PORTS[@]}"; do
    if [ -n "$(ss -Hltn "sport = :$p")" ]; then
        busy+="  port $p: $(ss -Hltnp "sport = :$p" | head -3 | tr -s ' ' || true)"$'\n'
    fi
done
[ -z "$busy" ] || die "ports needed by the benchmark are already in use (a leftover run?):"$'\n'"$busy""stop those processes first."

if has_target canarygate; then
    [ -x "$CANARYGATE_BIN" ] || die "Canarygate binary '$CANARYGATE_BIN' not found or not executable (build with 'swift build -c release' or set CANARYGATE_BIN; or drop canarygate from TARGETS)"
fi

# ---------------------------------------------------------------- process helpers
wait_port() {
    local pid="$1" port="$2" name="$3" logf="$4" i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$logf" >&2 || true; die "$name exited during startup (log above)"; }
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    tail -n 30 "$logf" >&2 || true
    die "$name did not listen on 127.0.0.1:$port within 10 s"
}

# pid and all of its descendants
pid_tree() {
    local p="$1" c
    echo "$p"
    for c in $(pgrep -P "$p" 2>/dev/null || true); do pid_tree "$c"; done
}

# Sum of a /proc/PID/status field (kB) over a process tree: rss_kb PID [FIELD]
rss_kb() {
    local field="${2:-VmRSS}" total=0 p v
    for p in $(pid_tree "$1"); do
        v="$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || true)"
        total=$(( total + ${v:-0} ))
    done
    echo "$total"
}

target_port() { case "$1" in haproxy) echo "$PORT_HAPROXY" ;; canarygate) echo "$PORT_CANARYGATE" ;; esac; }

# Established TCP connections with local port $1 (the proxy's accepted client connections).
conns_on_port() { ss -Htn state established "( sport = :$1 )" | wc -l; }
# Established connections of process $1 to the nginx upstream ports (its upstream side).
upstream_conns() {
    ss -Htnp state established "( dport = :$PORT_PRIMARY or dport = :$PORT_CANARY )" | grep -c "pid=$1," || true
}

# ---------------------------------------------------------------- nginx upstream
mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp"
chmod 755 "$TMP"
NGINX_USER_LINE=""
[ "$(id -u)" -eq 0 ] && NGINX_USER_LINE="user root;"
cat >"$TMP/nginx/nginx.conf" <<EOF
$NGINX_USER_LINE
worker_processes 1;
daemon off;
master_process on;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    default_type text/plain;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $TMP/nginx/tmp/body;
    proxy_temp_path $TMP/nginx/tmp/proxy;
    fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
    uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
    scgi_temp_path $TMP/nginx/tmp/scgi;
    server { listen 127.0.0.1:$PORT_PRIMARY; location / { add_header X-Arm v1; return 200 "ok\n"; } }
    server { listen 127.0.0.1:$PORT_CANARY;  location / { add_header X-Arm v2; return 200 "ok\n"; } }
}
EOF
log "starting nginx upstream on :$PORT_PRIMARY (primary) and :$PORT_CANARY (canary)"
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/logs/error.log" >"$TMP/nginx/stdout.log" 2>&1 &
PID_OF[nginx]=$!
wait_port "${PID_OF[nginx]}" "$PORT_PRIMARY" nginx "$TMP/nginx/logs/error.log"
wait_port "${PID_OF[nginx]}" "$PORT_CANARY" nginx "$TMP/nginx/logs/error.log"

# ---------------------------------------------------------------- HAProxy
if has_target haproxy; then
    mkdir -p "$TMP/haproxy"
    cat >"$TMP/haproxy/haproxy.cfg" <<EOF
global
    nbthread $HAPROXY_THREADS
    maxconn $HAPROXY_MAXCONN
    # no 'log' line: no logging

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 2s
    timeout client 120s
    timeout server 30s
    timeout http-request 120s
    timeout http-keep-alive 120s

frontend bench
    bind 127.0.0.1:$PORT_HAPROXY
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    default_backend arms

backend arms
    balance roundrobin
    server primary 127.0.0.1:$PORT_PRIMARY weight 80
    server canary  127.0.0.1:$PORT_CANARY weight 20
EOF
    haproxy -c -q -f "$TMP/haproxy/haproxy.cfg" >&2 || die "generated haproxy.cfg is invalid"
    log "starting haproxy (nbthread $HAPROXY_THREADS, maxconn $HAPROXY_MAXCONN) on :$PORT_HAPROXY"
    haproxy -db -f "$TMP/haproxy/haproxy.cfg" >"$TMP/haproxy/haproxy.log" 2>&1 &
    PID_OF[haproxy]=$!
    wait_port "${PID_OF[haproxy]}" "$PORT_HAPROXY" haproxy "$TMP/haproxy/haproxy.log"
    # HAProxy lowers maxconn (with a warning) if it cannot get enough descriptors: refuse that.
    if grep -Eq 'ALERT|WARNING' "$TMP/haproxy/haproxy.log"; then
        cat "$TMP/haproxy/haproxy.log" >&2
        die "haproxy reported alerts/warnings at startup (log above)"
    fi
    hfd="$(awk '$1 == "Max" && $2 == "open" { print $4 }' "/proc/${PID_OF[haproxy]}/limits")"
    log "haproxy fd limit: $hfd"
fi

# ---------------------------------------------------------------- Canarygate
if has_target canarygate; then
    mkdir -p "$TMP/canarygate"
    cat >"$TMP/canarygate/canarygate.yaml" <<EOF
admin: { address: 127.0.0.1:$PORT_ADMIN }
listeners: [ { name: http, address: 127.0.0.1:$PORT_CANARYGATE } ]
timeouts: { idle: 120s, requestHeader: 120s }
routes:
  - name: bench
    primary: { revision: v1, endpoints: ["127.0.0.1:$PORT_PRIMARY"] }
    canary:  { revision: v2, endpoints: ["127.0.0.1:$PORT_CANARY"], weight: 20 }
EOF
    log "starting canarygate ($CANARYGATE_BIN, --threads $CANARYGATE_THREADS) on :$PORT_CANARYGATE"
    "$CANARYGATE_BIN" run --config "$TMP/canarygate/canarygate.yaml" --threads "$CANARYGATE_THREADS" \
        >"$TMP/canarygate/canarygate.log" 2>&1 &
    PID_OF[canarygate]=$!
    wait_port "${PID_OF[canarygate]}" "$PORT_CANARYGATE" canarygate "$TMP/canarygate/canarygate.log"
    wait_port "${PID_OF[canarygate]}" "$PORT_ADMIN" "canarygate admin" "$TMP/canarygate/canarygate.log"
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
    before="$(rss_kb "$pid")"; anon_before="$(rss_kb "$pid" RssAnon)"; up_before="$(upstream_conns "$pid")"
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
    after="$(rss_kb "$pid")"; anon_after="$(rss_kb "$pid" RssAnon)"; up_after="$(upstream_conns "$pid")"
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
CG_VERSION="n/a"
if has_target canarygate; then
    CG_VERSION="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || CG_VERSION+=" (+uncommitted changes)"
fi
NOW="$(date -u '+%Y-%m-%d %H:%M UTC')"
per_conn() { awk -v b="$1" -v a="$2" -v n="$CONNS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }'; }

{
echo
echo "## Idle connection memory $NOW"
echo
echo "Command: \`$CMDLINE\`"
echo
echo "- Date: $NOW; host: $(uname -srm); \`nproc\` = $(nproc); CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "- Tools: $(haproxy -v 2>/dev/null | head -1 | awk '{ print "HAProxy", $3 }'); $(nginx -v 2>&1 | sed 's/.*\///' | sed 's/^/nginx /'); $(python3 --version 2>&1)"
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
