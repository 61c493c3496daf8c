#!/usr/bin/env bash
# Purpose: build the reference forwarder, check it over real sockets (both relay modes), then measure it beside HAProxy `mode tcp`: req/s, CPU µs and syscalls per request (small keep-alive; 1 MiB downloads or churn by knob).
#
# Usage (from anywhere; paths are relative to the repository root):
#   benchmarks/reference/limit.sh > /tmp/limit.md        # progress on stderr, report (markdown) on stdout
#   ROUNDS=3 DURATION=10s benchmarks/reference/limit.sh
#   CHECK_ONLY=1 benchmarks/reference/limit.sh           # correctness checks only, no load
#   TARGETS="forwarder canarygate" CANARYGATE_BIN=/path/to/canarygate benchmarks/reference/limit.sh   # Canarygate beside it
# Knobs: ROUNDS (1), DURATION (5s, per wrk round), WARMUP (1s, "0" = none), SYSCALL_SECONDS (3, the wrk run perf/strace
# counts), WRK_THREADS (2), WRK_CONNS (64), THREADS (2: forwarder --threads and HAProxy nbthread), SYSCALLS
# (auto|perf|strace|none), CHECK_ONLY, KEEP_LOGS (a directory to copy configs and raw outputs into), TARGETS (default
# "haproxy forwarder forwarder-splice"; canarygate may be added: CANARYGATE_BIN, default .build/release/canarygate),
# URL_PATH (/ = small answers; /1m.bin = 1 MiB downloads, e.g. with WRK_CONNS=16), CHURN (set: `Connection: close`).
# Ports 18501/18502 (nginx arms), 18580 (HAProxy), 18581 (forwarder), 18582 (forwarder --splice), 18583/18584 (Canarygate
# and its admin, when a target) must be free.
set -euo pipefail

ROUNDS="${ROUNDS:-1}"
DURATION="${DURATION:-5s}"
WARMUP="${WARMUP:-1s}"
SYSCALL_SECONDS="${SYSCALL_SECONDS:-3}"
WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNS="${WRK_CONNS:-64}"
THREADS="${THREADS:-2}"
SYSCALLS="${SYSCALLS:-auto}"
CHECK_ONLY="${CHECK_ONLY:-}"
KEEP_LOGS="${KEEP_LOGS:-}"
TARGETS="${TARGETS:-haproxy forwarder forwarder-splice}"
URL_PATH="${URL_PATH:-/}"   # what wrk asks for: / (small keep-alive) or /1m.bin (1 MiB downloads)
CHURN="${CHURN:-}"          # set: every wrk request carries `Connection: close` (a new connection per request)
CANARYGATE_BIN="${CANARYGATE_BIN:-.build/release/canarygate}"
CANARYGATE_THREADS="$THREADS"

PORT_PRIMARY=18501
PORT_CANARY=18502
PORT_HAPROXY=18580
PORT_FORWARDER=18581
PORT_SPLICE=18582
PORT_CANARYGATE=18583
PORT_ADMIN=18584

LOG_TAG=limit
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=benchmarks/lib.sh
source "$SCRIPT_DIR/../lib.sh"   # log, die, need, cleanup traps, preflight, wait_port, CPU ticks of a process tree
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
cd "$REPO_ROOT"

command_line "benchmarks/reference/limit.sh" ROUNDS DURATION WARMUP SYSCALL_SECONDS WRK_THREADS WRK_CONNS THREADS SYSCALLS CHECK_ONLY \
    TARGETS CANARYGATE_BIN URL_PATH CHURN
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
[[ "$URL_PATH" = / || "$URL_PATH" = /1m.bin ]] || die "URL_PATH must be / or /1m.bin (got '$URL_PATH')"
[[ "$SYSCALL_SECONDS" =~ ^[1-9][0-9]*$ ]] || die "SYSCALL_SECONDS must be a positive integer (got '$SYSCALL_SECONDS')"
need cc; need nginx; need haproxy; need curl; need wrk; need ss; need sha256sum; need python3; need timeout

parse_targets haproxy forwarder forwarder-splice canarygate
CLK_TCK="$(getconf CLK_TCK)"
WRK_EXTRA=(); [ -z "$CHURN" ] || WRK_EXTRA=(-H "Connection: close")
init_run limit
preflight "$PORT_FORWARDER" "$PORT_SPLICE"   # and the HAProxy / Canarygate ports when they are targets

# ---------------------------------------------------------------- build
FORWARDER="$TMP/forwarder.bin"
log "building the forwarder: cc -O2 -Wall -Wextra -Werror"
cc -O2 -Wall -Wextra -Werror -o "$FORWARDER" benchmarks/reference/forwarder.c || die "the forwarder does not build warning-free"

# ---------------------------------------------------------------- nginx: the small answer of proxy-compare.sh plus bodies
# Both arms: `/` answers 200 "ok\n" with X-Arm (as lib.sh's start_nginx), reading and discarding any request body (the
# POST upload); /1m.bin is a 1 MiB file; PUT /put/NAME stores the body (WebDAV), so an upload can be compared by hash.
start_nginx_bodies() {
    local user_line="" arm port
    mkdir -p "$TMP/nginx/logs" "$TMP/nginx/tmp" "$TMP/nginx/www/put"
    chmod 755 "$TMP"
    [ "$(id -u)" -eq 0 ] && user_line="user root;"
    head -c 1048576 /dev/urandom >"$TMP/nginx/www/1m.bin"
    {
        echo "$user_line"
        cat <<EOF
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
    client_max_body_size 16m;
$(nginx_temp_paths "$TMP/nginx")
EOF
        for arm in v1 v2; do
            port="$PORT_PRIMARY"; [ "$arm" = v2 ] && port="$PORT_CANARY"
            cat <<EOF
    server {
        listen 127.0.0.1:$port;
        root $TMP/nginx/www;
        location = / { add_header X-Arm $arm; return 200 "ok\n"; }
        location = /1m.bin { add_header X-Arm $arm; }
        location /put/ { dav_methods PUT; create_full_put_path on; }
    }
EOF
        done
        echo "}"
    } >"$TMP/nginx/nginx.conf"
    log "starting nginx (1 worker) on :$PORT_PRIMARY (v1) and :$PORT_CANARY (v2)"
    nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/logs/error.log" >"$TMP/nginx/stdout.log" 2>&1 &
    PID_OF[nginx]=$!
    wait_port "${PID_OF[nginx]}" "$PORT_PRIMARY" nginx "$TMP/nginx/logs/error.log"
    wait_port "${PID_OF[nginx]}" "$PORT_CANARY" nginx "$TMP/nginx/logs/error.log"
}

# HAProxy `mode tcp`: the first approximation of the limit the issue names; same split, same threads, no logging.
start_haproxy_tcp() {
    mkdir -p "$TMP/haproxy"
    cat >"$TMP/haproxy/haproxy.cfg" <<EOF
global
    nbthread $THREADS
    maxconn 4096

defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend bench
    bind 127.0.0.1:$PORT_HAPROXY
    default_backend arms

backend arms
    balance roundrobin
    server primary 127.0.0.1:$PORT_PRIMARY weight 80
    server canary  127.0.0.1:$PORT_CANARY weight 20
EOF
    launch_haproxy "mode tcp, nbthread $THREADS"
}

# start_forwarder NAME PORT [--splice] : the forwarder, tracked in PID_OF[NAME] so that cleanup stops it.
start_forwarder() {
    local name="$1" port="$2"; shift 2
    mkdir -p "$TMP/$name"
    log "starting $name on :$port (--threads $THREADS${*:+ $*})"
    "$FORWARDER" --listen "127.0.0.1:$port" --upstream "127.0.0.1:$PORT_PRIMARY:80" --upstream "127.0.0.1:$PORT_CANARY:20" \
        --threads "$THREADS" "$@" >"$TMP/$name/$name.log" 2>&1 &
    PID_OF[$name]=$!
    wait_port "${PID_OF[$name]}" "$port" "$name" "$TMP/$name/$name.log"
}

# lib.sh's cleanup stops canarygate/haproxy/nginx; the forwarders are stopped here, first.
before_cleanup() {
    local name p deadline=$(( SECONDS + 5 ))
    for name in forwarder forwarder-splice; do
        p="${PID_OF[$name]:-}"; [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true
    done
    for name in forwarder forwarder-splice; do kill_after "$deadline" "${PID_OF[$name]:-}" "$name"; done
}

port_of() {
    case "$1" in
        haproxy) echo "$PORT_HAPROXY" ;;
        forwarder) echo "$PORT_FORWARDER" ;;
        forwarder-splice) echo "$PORT_SPLICE" ;;
        canarygate) echo "$PORT_CANARYGATE" ;;
    esac
}

start_nginx_bodies
if has_target haproxy; then start_haproxy_tcp; fi
if has_target forwarder; then start_forwarder forwarder "$PORT_FORWARDER"; fi
if has_target forwarder-splice; then start_forwarder forwarder-splice "$PORT_SPLICE" --splice; fi
if has_target canarygate; then start_canarygate; fi   # lib.sh: mode http, canary weight 20 over the same arms

# ---------------------------------------------------------------- correctness, over real sockets
CURL=(curl -sS --max-time 20)

# no_pairs_left PORT : every relayed connection was closed on both sides (client and upstream): nothing but TIME-WAIT left.
# Canarygate's pooled upstream connections (it is an HTTP proxy and keeps them) are not counted.
no_pairs_left() {
    local port="$1" i left
    for i in $(seq 1 50); do
        left="$(ss -Htnp state connected exclude time-wait "( sport = :$port or dport = :$PORT_PRIMARY or dport = :$PORT_CANARY )" \
            | grep -v "pid=${PID_OF[canarygate]:-none}," || true)"
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    die "connections still open on :$port after the checks:"$'\n'"$left"
}

check_target() {
    local t="$1" port url hdr got want n200 nv2 saved
    port="$(port_of "$t")"; url="http://127.0.0.1:$port"
    hdr="$TMP/check-$t.hdr"

    # 1. small GET, 200 keep-alive requests on one connection
    urls=(); for i in $(seq 1 200); do urls+=("$url/"); done
    "${CURL[@]}" -D "$hdr" "${urls[@]}" >"$TMP/check-$t.body" || die "$t: small GETs failed"
    n200="$(grep -c '^HTTP/1.1 200' "$hdr" || true)"
    [ "$n200" -eq 200 ] || die "$t: $n200/200 keep-alive GETs answered 200"
    [ "$(grep -c '^ok$' "$TMP/check-$t.body")" -eq 200 ] && [ "$(wc -c <"$TMP/check-$t.body")" -eq 600 ] \
        || die "$t: the 200 bodies are not 200 × \"ok\\n\""

    # 2. Connection: close, 100 requests (a new connection each): all 200, and the 80/20 split per connection
    #    (each thread's weighted round-robin gives one v2 in every five picks: 19..21 of 100 over two threads).
    urls=(); for i in $(seq 1 100); do urls+=("$url/"); done
    "${CURL[@]}" -H 'Connection: close' -D "$hdr" "${urls[@]}" >/dev/null || die "$t: Connection: close GETs failed"
    n200="$(grep -c '^HTTP/1.1 200' "$hdr" || true)"
    nv2="$(grep -ci '^x-arm: v2' "$hdr" || true)"
    [ "$n200" -eq 100 ] || die "$t: $n200/100 Connection: close GETs answered 200"
    log "  $t: 200 keep-alive GETs OK; 100 Connection: close GETs OK, $nv2/100 on the canary arm"
    if [[ "$t" == forwarder* ]] && { [ "$nv2" -lt 19 ] || [ "$nv2" -gt 21 ]; }; then die "$t: $nv2/100 on v2, expected 19..21"; fi

    # 3. 1 MiB download, compared by sha256
    want="$(sha256sum <"$TMP/nginx/www/1m.bin" | cut -d' ' -f1)"
    got="$("${CURL[@]}" "$url/1m.bin" | sha256sum | cut -d' ' -f1)"
    [ "$got" = "$want" ] || die "$t: the 1 MiB download differs (sha256 $got, want $want)"

    # 4. 1 MiB POST: nginx reads the body and discards it; a GET on the same connection must follow (framing kept).
    #    nginx answers before it has read the body; an HTTP proxy (Canarygate) may then close instead of reusing.
    got="$("${CURL[@]}" -o /dev/null -w '%{http_code} ' --data-binary @"$TMP/nginx/www/1m.bin" "$url/" \
        --next -o /dev/null -w '%{http_code} %{num_connects}' "$url/" 2>"$TMP/check-$t.post.err")"
    if [ "$t" = canarygate ] && [ "$got" = "200 200 1" ]; then
        log "  $t: closed the connection after answering the 1 MiB POST; the GET reconnected"
    else
        [ "$got" = "200 200 0" ] || die "$t: 1 MiB POST then GET on the same connection gave '$got' (want '200 200 0')"
    fi

    # 5. 1 MiB PUT: nginx stores the body; the stored file must be the same bytes
    saved="$TMP/nginx/www/put/$t.bin"
    got="$("${CURL[@]}" -o /dev/null -w '%{http_code}' -T "$TMP/nginx/www/1m.bin" "$url/put/$t.bin")"
    [[ "$got" =~ ^20[14]$ ]] || die "$t: 1 MiB PUT answered $got"
    [ "$(sha256sum <"$saved" | cut -d' ' -f1)" = "$want" ] || die "$t: the 1 MiB upload arrived changed"

    # 6. half-close: the client sends a request and shuts its write side; the response must still arrive, then EOF
    #    (for Canarygate, an HTTP proxy that may treat the client's EOF as an abort, a failure is only reported)
    if ! python3 - "$port" <<'EOF'; then
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET / HTTP/1.1\r\nHost: limit\r\n\r\n")
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
if data.startswith(b"HTTP/1.1 200") and data.endswith(b"ok\n"):
    sys.exit(0)
print("received %d bytes: %r" % (len(data), data[:60]), file=sys.stderr)
sys.exit(1)
EOF
        if [ "$t" = canarygate ]; then log "  WARNING: $t: no complete response to a request followed by the client's half-close"
        else die "$t: half-closed request failed"; fi
    fi
    log "  $t: 1 MiB download and PUT upload identical (sha256); 1 MiB POST then GET, half-close: done"
    no_pairs_left "$port"
}

log "correctness checks (curl, python3) through each target"
for t in "${TARGET_LIST[@]}"; do check_target "$t"; done
log "all checks passed; no connection left open on any target's port"
if [ -n "$CHECK_ONLY" ]; then exit 0; fi

# ---------------------------------------------------------------- load: req/s and CPU per request
WRK_RES=""
# wrk_round TARGET TAG DURATION -> WRK_RES="rps requests cpu_us_per_req sys_us_per_req errors"
wrk_round() {
    local t="$1" tag="$2" dur="$3" port pid u0 s0 u1 s1 out
    port="$(port_of "$t")"; pid="${PID_OF[$t]}"
    out="$TMP/wrk-$tag-$t.txt"
    read -r u0 s0 <<<"$(tree_cpu_split "$pid")"
    bg_run "$out" wrk "${WRK_EXTRA[@]}" -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$dur" "http://127.0.0.1:$port$URL_PATH" || { cat "$out" >&2; die "wrk against $t failed"; }
    read -r u1 s1 <<<"$(tree_cpu_split "$pid")"
    kill -0 "$pid" 2>/dev/null || die "$t died during the wrk run"
    WRK_RES="$(awk -v u="$(( u1 - u0 ))" -v s="$(( s1 - s0 ))" -v hz="$CLK_TCK" '
        /requests in/     { req = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /Non-2xx or 3xx/  { err += $NF }
        /Socket errors:/  { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
        END {
            f = (req > 0) ? 1000000 / hz / req : 0
            printf "%.0f %d %.2f %.2f %d\n", rps, req, (u + s) * f, s * f, err + 0
        }' "$out")"
}

if [ "$WARMUP" != "0" ]; then
    for t in "${TARGET_LIST[@]}"; do log "warm-up $t ($WARMUP)"; wrk_round "$t" warmup "$WARMUP"; done
fi
RESULTS="$TMP/rounds.tsv"   # target round rps requests cpu_us sys_us errors
: >"$RESULTS"
n="${#TARGET_LIST[@]}"
for r in $(seq 1 "$ROUNDS"); do
    for k in $(seq 0 $(( n - 1 ))); do   # the order rotates every round
        t="${TARGET_LIST[$(( (k + r - 1) % n ))]}"
        wrk_round "$t" "r$r" "$DURATION"
        echo "$t $r $WRK_RES" >>"$RESULTS"
        read -r rps req cpu sys err <<<"$WRK_RES"
        log "round $r/$ROUNDS $t: $rps req/s, $cpu CPU µs/req ($sys in the kernel), errors $err"
    done
done

# ---------------------------------------------------------------- syscalls per request
SYSCALL_TOOL="$SYSCALLS"
if [ "$SYSCALL_TOOL" = auto ]; then
    probe="$(perf stat -x, -e raw_syscalls:sys_enter -- true 2>&1 || true)"
    if grep -q '^[0-9][0-9]*,.*raw_syscalls:sys_enter' <<<"$probe"; then SYSCALL_TOOL=perf
    elif command -v strace >/dev/null 2>&1; then SYSCALL_TOOL=strace; log "perf tracepoints unavailable: strace -c -f (slow)"
    else SYSCALL_TOOL=none; fi
fi
# The syscalls a relay makes, counted one by one with perf (each is a tracepoint; those under 0.005 per request are not
# shown; "other" = the rest). clock_gettime: HAProxy reads its thread's CPU time around each poll (not a vDSO call).
NAMED=(read write recvfrom sendto readv writev sendmsg recvmsg splice epoll_wait epoll_pwait epoll_ctl accept4 socket connect setsockopt shutdown close
    clock_gettime)
SYS_RESULTS="$TMP/syscalls.tsv"   # target requests total per_req name=per_req...
: >"$SYS_RESULTS"
if [ "$SYSCALL_TOOL" != none ]; then
    for t in "${TARGET_LIST[@]}"; do
        port="$(port_of "$t")"; pids="$(pid_tree "${PID_OF[$t]}" | paste -sd, -)"
        sysf="$TMP/syscalls-$t.txt"; wout="$TMP/wrk-syscalls-$t.txt"
        if [ "$SYSCALL_TOOL" = perf ]; then
            events="raw_syscalls:sys_enter"; for s in "${NAMED[@]}"; do events+=",syscalls:sys_enter_$s"; done
            perf stat -x, -e "$events" -p "$pids" -o "$sysf" -- sleep "$(( SYSCALL_SECONDS + 1 ))" >/dev/null 2>&1 &
        else
            targs=(); for p in ${pids//,/ }; do for task in /proc/"$p"/task/*; do targs+=(-p "${task##*/}"); done; done
            strace -c -f -o "$sysf" "${targs[@]}" >/dev/null 2>&1 &
        fi
        spid=$!; HELPER_PIDS+=("$spid")
        sleep 0.5
        bg_run "$wout" wrk "${WRK_EXTRA[@]}" -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${SYSCALL_SECONDS}s" "http://127.0.0.1:$port$URL_PATH" \
            || { cat "$wout" >&2; die "wrk (syscall phase) against $t failed"; }
        if [ "$SYSCALL_TOOL" = strace ]; then kill -INT "$spid" 2>/dev/null || true; fi
        wait "$spid" || true
        HELPER_PIDS=("${HELPER_PIDS[@]/$spid}")
        req="$(awk '/requests in/ { print $1 }' "$wout")"
        if [ "$SYSCALL_TOOL" = perf ]; then
            line="$(awk -F, -v n="$req" '
                $3 == "raw_syscalls:sys_enter" { total = $1 }
                $3 ~ /^syscalls:sys_enter_/ { name = $3; sub(/^syscalls:sys_enter_/, "", name); named += $1; if ($1 / n >= 0.005) { c[name] = $1; order[++k] = name } }
                END {
                    printf "%d %.2f", total, total / n
                    for (i = 1; i <= k; i++) printf " %s=%.2f", order[i], c[order[i]] / n
                    if ((total - named) / n >= 0.005) printf " other=%.2f", (total - named) / n
                }' "$sysf")"
        else
            line="$(awk -v n="$req" '$NF == "total" { t = $4 } $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { c[$NF] = $4 }
                END { printf "%d %.2f", t, t / n; for (s in c) printf " %s=%.2f", s, c[s] / n }' "$sysf")"
        fi
        echo "$t $req $line" >>"$SYS_RESULTS"
        log "syscalls $t: $req requests; $line"
    done
fi

# ---------------------------------------------------------------- report
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$RESULTS"; }
NOW="$(date -u '+%Y-%m-%d %H:%M UTC')"
ANSWER='answer "ok\n"'; [ "$URL_PATH" = / ] || ANSWER="1 MiB answers: CPU µs/req is CPU µs per MiB"
[ -z "$CHURN" ] || ANSWER+=", \`-H 'Connection: close'\`: a new connection per request"
{
    echo
    echo "## Reference forwarder (the limit) $NOW"
    echo
    echo "Command: \`$CMDLINE\`"
    echo
    report_host_line
    echo "- Forwarder: benchmarks/reference/forwarder.c @ $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- benchmarks/reference 2>/dev/null || echo ' (+uncommitted changes)'), --threads $THREADS; HAProxy $(haproxy -v 2>/dev/null | head -1 | awk '{ print $3 }') \`mode tcp\` nbthread $THREADS; both 80/20 over one nginx (1 worker), two arms."
    echo "- Load: \`wrk -t$WRK_THREADS -c$WRK_CONNS -d$DURATION http://127.0.0.1:PORT$URL_PATH\` ($ANSWER), $ROUNDS round(s) in rotating order, medians; CPU = utime+stime of the target's processes / requests (tick = $(( 1000000 / CLK_TCK )) µs), \"kernel\" = its stime part."
    echo "- Syscalls: $SYSCALL_TOOL over a separate \`wrk -d${SYSCALL_SECONDS}s\` run (plus ~1 s idle), count / requests of that run."
    echo
    echo "| target | req/s | CPU µs/req | of which kernel | CPU ÷ forwarder's | syscalls/req | by syscall (per request) | wrk errors |"
    echo "|---|---:|---:|---:|---:|---:|---|---:|"
    limit_cpu="n/a"; has_target forwarder && limit_cpu="$(col forwarder 5 | median)"
    for t in "${TARGET_LIST[@]}"; do
        per=n/a; detail=""
        line="$(awk -v t="$t" '$1 == t' "$SYS_RESULTS")"
        if [ -n "$line" ]; then read -r _ _ _ per detail <<<"$line"; fi
        cpu="$(col "$t" 5 | median)"
        ratio="$(awk -v a="$cpu" -v b="$limit_cpu" 'BEGIN { if (b + 0 > 0) printf "%.2f×", a / b; else print "n/a" }')"
        echo "| $t | $(col "$t" 3 | median) | $cpu | $(col "$t" 6 | median) | $ratio | $per | $detail | $(col "$t" 7 | awk '{ s += $1 } END { print s + 0 }') |"
    done
    if [ "$ROUNDS" -gt 1 ]; then
        echo
        echo "| round | target | req/s | requests | CPU µs/req | kernel µs/req | errors |"
        echo "|---:|---|---:|---:|---:|---:|---:|"
        sort -k2,2n -s "$RESULTS" | awk '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $1, $3, $4, $5, $6, $7 }'
    fi
} >"$TMP/report.md"
cat "$TMP/report.md"
