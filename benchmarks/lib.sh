# Purpose: what the benchmark scripts (proxy-compare, idle-memory, tls-compare, h2-compare) share: logging, targets, cleanup, port checks, nginx/HAProxy/Canarygate startup.
# shellcheck shell=bash
#
# The sourcing script sets LOG_TAG before sourcing, and PORT_PRIMARY, PORT_CANARY, PORT_HAPROXY,
# PORT_CANARYGATE, PORT_ADMIN, TARGETS, CANARYGATE_BIN, CANARYGATE_THREADS, HAPROXY_THREADS and
# KEEP_LOGS before calling these functions.
#
# Optional (unset = the plain-HTTP setup of proxy-compare.sh / idle-memory.sh, unchanged):
#   HAPROXY_GLOBAL_EXTRA     lines added to HAProxy's `global` section
#   HAPROXY_BIND_EXTRA       appended to HAProxy's `bind` line (e.g. "ssl crt FILE alpn http/1.1")
#   HAPROXY_FORWARDED_PROTO  the X-Forwarded-Proto HAProxy sets (default http)
#   HAPROXY_FRONTEND_EXTRA   lines added to HAProxy's frontend after its bind line (e.g. a second `bind`)
#   CANARYGATE_LISTENER_EXTRA  appended inside Canarygate's listener mapping (e.g. "tls: { ... }")
#   CANARYGATE_LISTENERS_EXTRA further listener mappings appended to Canarygate's `listeners` list

log()  { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$LOG_TAG" "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "required tool '$1' not found in PATH"; }

# command_line SCRIPT VAR... : sets CMDLINE to the exact command, with those of the knobs VAR... that
# were set in the environment, for the report.
command_line() {
    local script="$1" v; shift
    CMDLINE=""
    for v in "$@"; do
        if printenv "$v" >/dev/null 2>&1; then CMDLINE+="$v=\"$(printenv "$v")\" "; fi
    done
    CMDLINE+="$script"
}

# parse_targets ALLOWED... : splits TARGETS into TARGET_LIST; each must be one of ALLOWED.
parse_targets() {
    local t
    read -r -a TARGET_LIST <<<"$TARGETS"
    [ "${#TARGET_LIST[@]}" -gt 0 ] || die "TARGETS is empty"
    for t in "${TARGET_LIST[@]}"; do
        [[ " $* " == *" $t "* ]] || die "unknown target '$t' (allowed: $*)"
    done
}
has_target() { local t; for t in "${TARGET_LIST[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

# ---------------------------------------------------------------- state & cleanup
declare -A PID_OF=()        # nginx / haproxy / canarygate -> pid of the process we started
HELPER_PIDS=()              # load generators, clients, tracers started in the background (emptied entries allowed)

# init_run NAME : the run's temporary directory TMP (/tmp/canarygate-NAME.XXXXXX) and the traps that
# stop every process we started and remove TMP on exit. A script may define before_cleanup, run first.
init_run() {
    TMP="$(mktemp -d "/tmp/canarygate-$1.XXXXXX")"
    trap cleanup EXIT
    trap 'log "interrupted"; exit 130' INT
    trap 'log "terminated"; exit 143' TERM
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p name
    if declare -F before_cleanup >/dev/null; then before_cleanup || true; fi
    for p in "${HELPER_PIDS[@]}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
    for name in canarygate haproxy nginx; do
        p="${PID_OF[$name]:-}"
        [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
    done
    # Give them up to 5 s to exit, then SIGKILL.
    local deadline=$(( SECONDS + 5 ))
    for p in "${HELPER_PIDS[@]}"; do kill_after "$deadline" "$p" "pid $p"; done
    for name in canarygate haproxy nginx; do
        p="${PID_OF[$name]:-}"
        kill_after "$deadline" "$p" "$name (pid $p)"
    done
    for p in "${HELPER_PIDS[@]}" "${PID_OF[@]}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    if [ -n "$KEEP_LOGS" ]; then
        mkdir -p "$KEEP_LOGS" && cp -r "$TMP"/. "$KEEP_LOGS"/ 2>/dev/null || true
        log "raw logs copied to $KEEP_LOGS"
    fi
    rm -rf "$TMP"
    exit "$rc"
}

# kill_after DEADLINE PID LABEL : wait until PID (if any) has exited or SECONDS reaches DEADLINE, then SIGKILL it.
kill_after() {
    local deadline="$1" p="$2"
    [ -n "$p" ] || return 0
    while kill -0 "$p" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then
        log "$3 did not exit on SIGTERM; sending SIGKILL"
        kill -KILL "$p" 2>/dev/null || true
    fi
}

# bg_run OUTFILE CMD... : run a load generator in the background and wait for it, so that a
# SIGINT/SIGTERM to this script is handled at once (the trap kills it) instead of after it ends.
bg_run() {
    local out="$1" p rc=0; shift
    "$@" >"$out" 2>&1 &
    p=$!; HELPER_PIDS+=("$p")
    wait "$p" || rc=$?
    HELPER_PIDS=("${HELPER_PIDS[@]/$p}")
    return "$rc"
}

# ---------------------------------------------------------------- preflight
# Every port the run needs must be free: any listener on it (any address, v4 or v6). With SO_REUSEPORT
# a leftover process could otherwise share the port silently and take part of the load. And the
# Canarygate binary must exist when Canarygate is a target. Arguments: further ports the script uses.
preflight() {
    local ports=("$PORT_PRIMARY" "$PORT_CANARY" "$@") busy="" p
    has_target haproxy    && ports+=("$PORT_HAPROXY")
    has_target canarygate && ports+=("$PORT_CANARYGATE" "$PORT_ADMIN")
    for p in "${ports[@]}"; do
        if [ -n "$(ss -Hltn "sport = :$p")" ]; then
            busy+="  port $p: $(ss -Hltnp "sport = :$p" | head -3 | tr -s ' ' || true)"$'\n'
        fi
    done
    [ -z "$busy" ] || die "ports needed by the benchmark are already in use (a leftover run?):"$'\n'"$busy""stop those processes first."
    if has_target canarygate; then
        [ -x "$CANARYGATE_BIN" ] || die "Canarygate binary '$CANARYGATE_BIN' not found or not executable (build with 'swift build -c release' or set CANARYGATE_BIN; or drop canarygate from TARGETS)"
    fi
}

# ---------------------------------------------------------------- process helpers
# Wait until something accepts TCP connections on 127.0.0.1:$2 and process $1 is alive.
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

# pid and all of its descendants (nginx: master + worker)
pid_tree() {
    local p="$1" c
    echo "$p"
    for c in $(pgrep -P "$p" 2>/dev/null || true); do pid_tree "$c"; done
}

# CPU ticks of a process tree as "user system" (utime, stime; /proc/PID/stat of a thread-group
# leader already aggregates all of its threads).
tree_cpu_split() {
    local user=0 sys=0 p line rest u s
    for p in $(pid_tree "$1"); do
        line="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
        rest="${line##*) }"                      # drop "pid (comm) " (comm may contain spaces)
        read -r u s <<<"$(awk '{ print $12, $13 }' <<<"$rest")"   # stat fields 14 (utime) and 15 (stime)
        user=$(( user + u )); sys=$(( sys + s ))
    done
    echo "$user $sys"
}

# Total CPU ticks (utime+stime) of a process tree.
tree_cpu_ticks() {
    local u s
    read -r u s <<<"$(tree_cpu_split "$1")"
    echo $(( u + s ))
}

# Ticks of every CPU of the machine, busy or idle (the first line of /proc/stat: user nice system
# idle iowait irq softirq steal): what the whole machine had to spend, load generator included.
machine_ticks() {
    awk '$1 == "cpu" { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}

# Sum of a /proc/PID/status field (kB) over a process tree: tree_status_kb PID [FIELD].
tree_status_kb() {
    local field="${2:-VmRSS}" total=0 p v
    for p in $(pid_tree "$1"); do
        v="$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || true)"
        total=$(( total + ${v:-0} ))
    done
    echo "$total"
}

# The port a target is measured on (nginx: the primary upstream, hit directly).
target_port() {
    case "$1" in
        haproxy) echo "$PORT_HAPROXY" ;;
        canarygate) echo "$PORT_CANARYGATE" ;;
        nginx) echo "$PORT_PRIMARY" ;;
    esac
}

# nginx's temporary-file directories under $1 (one per module that may buffer to disk), for an http block:
# every nginx these scripts start keeps them inside the run's own directory.
nginx_temp_paths() {
    local k
    for k in client_body:body proxy:proxy fastcgi:fastcgi uwsgi:uwsgi scgi:scgi; do
        printf '    %s_temp_path %s/tmp/%s;\n' "${k%%:*}" "$1" "${k#*:}"
    done
}

# ---------------------------------------------------------------- nginx upstream
# One nginx (1 worker) serving both arms: :PORT_PRIMARY (X-Arm: v1) and :PORT_CANARY (X-Arm: v2).
start_nginx() {
    local user_line=""
    mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp"
    chmod 755 "$TMP"   # nginx workers may run as 'nobody' when we are root
    [ "$(id -u)" -eq 0 ] && user_line="user root;"
    cat >"$TMP/nginx/nginx.conf" <<EOF
$user_line
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
$(nginx_temp_paths "$TMP/nginx")
    # X-Arm lets the harness check the split; both arms answer the same number of bytes.
    server { listen 127.0.0.1:$PORT_PRIMARY; location / { add_header X-Arm v1; return 200 "ok\n"; } }
    server { listen 127.0.0.1:$PORT_CANARY;  location / { add_header X-Arm v2; return 200 "ok\n"; } }
}
EOF
    log "starting nginx upstream on :$PORT_PRIMARY (primary) and :$PORT_CANARY (canary)"
    nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/logs/error.log" >"$TMP/nginx/stdout.log" 2>&1 &
    PID_OF[nginx]=$!
    wait_port "${PID_OF[nginx]}" "$PORT_PRIMARY" nginx "$TMP/nginx/logs/error.log"
    wait_port "${PID_OF[nginx]}" "$PORT_CANARY" nginx "$TMP/nginx/logs/error.log"
}

# ---------------------------------------------------------------- HAProxy
# start_haproxy MAXCONN CLIENT_TIMEOUT HTTP_REQUEST_TIMEOUT KEEP_ALIVE_TIMEOUT : HAProxy on :PORT_HAPROXY
# (nbthread HAPROXY_THREADS, no logging), roundrobin 80/20 over the nginx arms.
start_haproxy() {
    local maxconn="$1" client="$2" request="$3" keepalive="$4"
    mkdir -p "$TMP/haproxy"
    cat >"$TMP/haproxy/haproxy.cfg" <<EOF
global
    nbthread $HAPROXY_THREADS
    maxconn $maxconn
    # no 'log' line: no logging${HAPROXY_GLOBAL_EXTRA:+
$HAPROXY_GLOBAL_EXTRA}

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 2s
    timeout client $client
    timeout server 30s
    timeout http-request $request
    timeout http-keep-alive $keepalive

frontend bench
    bind 127.0.0.1:$PORT_HAPROXY${HAPROXY_BIND_EXTRA:+ $HAPROXY_BIND_EXTRA}${HAPROXY_FRONTEND_EXTRA:+
$HAPROXY_FRONTEND_EXTRA}
    # Same per-request header work Canarygate must do (X-Forwarded-For/-Proto/-Host).
    option forwardfor
    http-request set-header X-Forwarded-Proto ${HAPROXY_FORWARDED_PROTO:-http}
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    default_backend arms

backend arms
    balance roundrobin
    server primary 127.0.0.1:$PORT_PRIMARY weight 80
    server canary  127.0.0.1:$PORT_CANARY weight 20
EOF
    launch_haproxy "nbthread $HAPROXY_THREADS, maxconn $maxconn"
}

# launch_haproxy DESCRIPTION : checks $TMP/haproxy/haproxy.cfg, starts HAProxy on it (tracked in
# PID_OF[haproxy] so that cleanup stops it) and waits for :PORT_HAPROXY.
launch_haproxy() {
    haproxy -c -q -f "$TMP/haproxy/haproxy.cfg" >&2 || die "generated haproxy.cfg is invalid"
    log "starting haproxy ($1) on :$PORT_HAPROXY"
    haproxy -db -f "$TMP/haproxy/haproxy.cfg" >"$TMP/haproxy/haproxy.log" 2>&1 &
    PID_OF[haproxy]=$!
    wait_port "${PID_OF[haproxy]}" "$PORT_HAPROXY" haproxy "$TMP/haproxy/haproxy.log"
}

# ---------------------------------------------------------------- Canarygate
# start_canarygate [YAML_LINE...] : Canarygate on :PORT_CANARYGATE (admin :PORT_ADMIN, --threads
# CANARYGATE_THREADS), canary weight 20 over the nginx arms; YAML_LINEs are added to its config.
start_canarygate() {
    mkdir -p "$TMP/canarygate"
    cat >"$TMP/canarygate/canarygate.yaml" <<EOF
admin: { address: 127.0.0.1:$PORT_ADMIN }
listeners: [ { name: http, address: 127.0.0.1:$PORT_CANARYGATE${CANARYGATE_LISTENER_EXTRA:+, $CANARYGATE_LISTENER_EXTRA} }${CANARYGATE_LISTENERS_EXTRA:+, $CANARYGATE_LISTENERS_EXTRA} ]
routes:
  - name: bench
    primary: { revision: v1, endpoints: ["127.0.0.1:$PORT_PRIMARY"] }
    canary:  { revision: v2, endpoints: ["127.0.0.1:$PORT_CANARY"], weight: 20 }
EOF
    if [ "$#" -gt 0 ]; then printf '%s\n' "$@" >>"$TMP/canarygate/canarygate.yaml"; fi
    log "starting canarygate ($CANARYGATE_BIN, --threads $CANARYGATE_THREADS) on :$PORT_CANARYGATE"
    "$CANARYGATE_BIN" run --config "$TMP/canarygate/canarygate.yaml" --threads "$CANARYGATE_THREADS" \
        >"$TMP/canarygate/canarygate.log" 2>&1 &
    PID_OF[canarygate]=$!
    wait_port "${PID_OF[canarygate]}" "$PORT_CANARYGATE" canarygate "$TMP/canarygate/canarygate.log"
    wait_port "${PID_OF[canarygate]}" "$PORT_ADMIN" "canarygate admin" "$TMP/canarygate/canarygate.log"
}

# ---------------------------------------------------------------- report
# Sets NOW and CG_VERSION (the Canarygate revision, "n/a" when Canarygate is not a target).
report_stamp() {
    CG_VERSION="n/a"
    if has_target canarygate; then
        CG_VERSION="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || CG_VERSION+=" (+uncommitted changes)"
    fi
    NOW="$(date -u '+%Y-%m-%d %H:%M UTC')"
}

# The report's date and machine line.
report_host_line() {
    echo "- Date: $NOW; host: $(uname -srm); \`nproc\` = $(nproc); CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
}

# duration_seconds D : a wrk/h2load duration ("10s", "1m", "500ms", "3") in seconds (may be fractional).
duration_seconds() {
    case "$1" in
        *ms) awk -v x="${1%ms}" 'BEGIN { print x / 1000 }' ;;
        *s)  echo "${1%s}" ;;
        *m)  awk -v x="${1%m}" 'BEGIN { print x * 60 }' ;;
        *h)  awk -v x="${1%h}" 'BEGIN { print x * 3600 }' ;;
        *)   echo "$1" ;;
    esac
}
