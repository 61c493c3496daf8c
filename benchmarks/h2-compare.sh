#!/usr/bin/env bash
# Purpose: HTTP/2 front-end throughput, Canarygate vs HAProxy vs nginx (same nginx HTTP/1.1 upstream, same 80/20 split): h2 over TLS and h2c prior knowledge, req/s and CPU µs/request under h2load.
#
# Usage (from anywhere; paths are relative to the repository root):
#   benchmarks/h2-compare.sh > /tmp/h2.md
#   ROUNDS=5 DURATION=10s benchmarks/h2-compare.sh
#   TARGETS="haproxy nginx" DURATION=3s ROUNDS=1 benchmarks/h2-compare.sh   # harness smoke test, no Canarygate
# Progress on stderr, report (markdown) on stdout. Exit status 1 when any row is flagged (failed,
# errored or timed-out requests, non-2xx answers, no h2, a dead proxy); the report is printed all
# the same. See benchmarks/README.md for the conventions shared with proxy-compare.sh.
set -euo pipefail

# ---------------------------------------------------------------- settings
ROUNDS="${ROUNDS:-3}"                    # alternating rounds; the report shows medians
DURATION="${DURATION:-10s}"              # h2load -D per round, target and mode (h2load syntax: 10s, 500ms, 1m)
WARMUP="${WARMUP:-2s}"                   # one h2load warm-up per target and mode before the rounds ("0" = none)
TARGETS="${TARGETS:-haproxy canarygate nginx}"   # any of: haproxy canarygate nginx (here nginx is an h2 *proxy*, not the upstream)
MODES="${MODES:-tls h2c}"                # tls = h2 over TLS (ALPN h2); h2c = cleartext h2 with prior knowledge
# h2load shape, for the 2-core machine where the proxy (2 threads or workers), the nginx upstream
# (1 worker) and h2load all share the CPUs:
# - 32 connections: enough that each proxy's 2 threads or workers get a similar share (connections
#   stay on the thread that accepted them, so with a handful the split can be lopsided), few enough
#   that each connection carries many streams, which is what h2 is for.
# - 10 streams per connection: 320 requests in flight saturate every proxy and exercise h2
#   multiplexing (each stream becomes its own HTTP/1.1 upstream request, so a proxy needs many
#   upstream connections), without queues so deep that they only add latency.
# - 2 threads, like wrk -t2 in proxy-compare.sh: h2load costs ~4 µs per request (0.3 of a core at
#   65k req/s, measured here), so one thread would suffice, but two let the scheduler put the load
#   generator on whichever core is free rather than queue it behind the proxy on one.
H2LOAD_THREADS="${H2LOAD_THREADS:-2}"
H2LOAD_CONNS="${H2LOAD_CONNS:-32}"
H2LOAD_STREAMS="${H2LOAD_STREAMS:-10}"
CANARYGATE_BIN="${CANARYGATE_BIN:-.build/release/canarygate}"
CANARYGATE_THREADS="${CANARYGATE_THREADS:-2}"
HAPROXY_THREADS="${HAPROXY_THREADS:-2}"
NGINX_WORKERS="${NGINX_WORKERS:-2}"      # worker_processes of the nginx *proxy* (the upstream keeps 1)
KEEP_LOGS="${KEEP_LOGS:-}"               # if set to a directory, configs and raw h2load outputs are copied there

# Distinct from proxy-compare (180xx), idle-memory (181xx) and tls-compare (182xx), so they can coexist.
PORT_PRIMARY=18301
PORT_CANARY=18302
PORT_HAPROXY=18380          # h2 over TLS
PORT_HAPROXY_H2C=18390
PORT_CANARYGATE=18381       # h2 over TLS
PORT_CANARYGATE_H2C=18391
PORT_NGINX=18382            # h2 over TLS (the nginx proxy, not the upstream)
PORT_NGINX_H2C=18392
PORT_ADMIN=18931

# ---------------------------------------------------------------- helpers
LOG_TAG=h2-bench
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=benchmarks/lib.sh
source "$SCRIPT_DIR/lib.sh"   # log, die, need, targets, cleanup, port checks, nginx/HAProxy/Canarygate startup
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"

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

command_line "benchmarks/h2-compare.sh${*:+ $*}" ROUNDS DURATION WARMUP TARGETS MODES H2LOAD_THREADS H2LOAD_CONNS \
    H2LOAD_STREAMS CANARYGATE_BIN CANARYGATE_THREADS HAPROXY_THREADS NGINX_WORKERS
parse_targets haproxy canarygate nginx
read -r -a MODE_LIST <<<"$MODES"
[ "${#MODE_LIST[@]}" -gt 0 ] || die "MODES is empty"
for m in "${MODE_LIST[@]}"; do [ "$m" = tls ] || [ "$m" = h2c ] || die "unknown mode '$m' (allowed: tls h2c)"; done
has_mode() { local m; for m in "${MODE_LIST[@]}"; do [ "$m" = "$1" ] && return 0; done; return 1; }

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
for v in H2LOAD_THREADS H2LOAD_CONNS H2LOAD_STREAMS NGINX_WORKERS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[ "$H2LOAD_THREADS" -le "$H2LOAD_CONNS" ] || die "H2LOAD_THREADS must not exceed H2LOAD_CONNS (h2load refuses)"
DURATION_S="$(to_seconds "$DURATION")"
if ! [[ "$DURATION_S" =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v d="$DURATION_S" 'BEGIN { exit !(d > 0) }'; then
    die "DURATION must be a positive h2load duration such as 10s (got '$DURATION')"
fi
if [ "$WARMUP" != 0 ]; then
    [[ "$(to_seconds "$WARMUP")" =~ ^[0-9]*\.?[0-9]+$ ]] || die "WARMUP must be an h2load duration such as 2s, or 0 (got '$WARMUP')"
fi
# Hard limit on every h2load run (coreutils timeout): its own duration + 30 s for connection set-up
# and the end of the run. h2load has no overall deadline of its own, and a proxy that accepts the
# connection but never answers the h2 preface must not hang the benchmark.
h2load_limit() { awk -v d="$(to_seconds "$1")" 'BEGIN { printf "%d", d + 30.999 }'; }

need h2load; need nghttp; need nginx; need ss; need awk; need getconf; need openssl; need timeout
has_target haproxy && need haproxy
CLK_TCK="$(getconf CLK_TCK)"

# ---------------------------------------------------------------- state & cleanup; ports must be free
# The nginx proxy is not one of lib.sh's PID_OF names (that nginx is the upstream), so its master
# and workers are handed to the generic cleanup as helpers: each gets SIGTERM, then SIGKILL after
# 5 s. Listing the workers too matters only if the master is killed: workers outlive it otherwise.
NGINX_PROXY_PID=""
before_cleanup() {
    local p
    [ -n "$NGINX_PROXY_PID" ] || return 0
    for p in $(pid_tree "$NGINX_PROXY_PID"); do HELPER_PIDS+=("$p"); done
}
init_run h2
extra_ports=()
has_target haproxy    && extra_ports+=("$PORT_HAPROXY_H2C")
has_target canarygate && extra_ports+=("$PORT_CANARYGATE_H2C")
has_target nginx      && extra_ports+=("$PORT_NGINX" "$PORT_NGINX_H2C")
# Upstream ports, HAProxy's and Canarygate's TLS ports, the admin port, the h2c and nginx ports, the Canarygate binary.
preflight "${extra_ports[@]}"

# port_of TARGET MODE
port_of() {
    case "$1.$2" in
        haproxy.tls) echo "$PORT_HAPROXY" ;;       haproxy.h2c) echo "$PORT_HAPROXY_H2C" ;;
        canarygate.tls) echo "$PORT_CANARYGATE" ;; canarygate.h2c) echo "$PORT_CANARYGATE_H2C" ;;
        nginx.tls) echo "$PORT_NGINX" ;;           nginx.h2c) echo "$PORT_NGINX_H2C" ;;
    esac
}
url_of() { if [ "$2" = tls ]; then echo "https://127.0.0.1:$(port_of "$1" "$2")/"; else echo "http://127.0.0.1:$(port_of "$1" "$2")/"; fi; }
# The process (tree) whose CPU is charged to a target.
proxy_pid() { if [ "$1" = nginx ]; then echo "$NGINX_PROXY_PID"; else echo "${PID_OF[$1]}"; fi; }
mode_label() { if [ "$1" = tls ]; then echo "h2 over TLS"; else echo "h2c (prior knowledge)"; fi; }

# ---------------------------------------------------------------- certificate (self-signed, ECDSA P-256, as tls-compare.sh)
CERT="$TMP/cert.pem"; KEY="$TMP/key.pem"; COMBINED="$TMP/combined.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$KEY" -out "$CERT" >"$TMP/openssl-req.log" 2>&1 || { cat "$TMP/openssl-req.log" >&2; die "openssl req failed"; }
cat "$CERT" "$KEY" >"$COMBINED"   # HAProxy wants certificate + key in one PEM
chmod 644 "$KEY" "$COMBINED"      # nginx workers may not run as root
log "self-signed ECDSA P-256 certificate in $TMP"

# ---------------------------------------------------------------- upstream and the three proxies
# HAProxy: one frontend, two binds: TLS offering h2 first (falls back to http/1.1 like a real
# deployment), and a cleartext bind that speaks only h2 (`proto h2`: prior knowledge, no HTTP/1.1).
# X-Forwarded-Proto follows the bind, as Canarygate's and nginx's ($scheme) do.
HAPROXY_BIND_EXTRA="ssl crt $COMBINED alpn h2,http/1.1 ssl-min-ver TLSv1.2"
HAPROXY_FRONTEND_EXTRA="    bind 127.0.0.1:$PORT_HAPROXY_H2C proto h2"
HAPROXY_FORWARDED_PROTO="%[ssl_fc,iif(https,http)]"
# Canarygate: the TLS listener (ALPN h2 once HTTP/2 lands) and a plain one (h2c prior knowledge is
# recognised by its preface on any plain listener).
CANARYGATE_LISTENER_EXTRA="tls: { certificate: $CERT, privateKey: $KEY }"
CANARYGATE_LISTENERS_EXTRA="{ name: h2c, address: 127.0.0.1:$PORT_CANARYGATE_H2C }"

# nginx as the h2 proxy: its own prefix, NGINX_WORKERS workers, the same 80/20 over the same upstream
# arms (smooth weighted round-robin, like HAProxy's roundrobin), HTTP/1.1 keep-alive upstream, and
# the same forwarding headers the other two add.
start_nginx_proxy() {
    local user_line="" d="$TMP/nginx-proxy"
    mkdir -p "$d/logs" "$d/tmp"
    [ "$(id -u)" -eq 0 ] && user_line="user root;"
    cat >"$d/nginx.conf" <<EOF
$user_line
worker_processes $NGINX_WORKERS;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    default_type text/plain;
    # Since 1.19.7 keepalive_requests also caps the streams of one h2 connection (default 1000,
    # then GOAWAY); h2load does not reconnect within a run, so the cap would end connections early.
    keepalive_requests 100000000;
    keepalive_timeout 300s;
$(nginx_temp_paths "$d")
    ssl_certificate $CERT;
    ssl_certificate_key $KEY;
    ssl_protocols TLSv1.2 TLSv1.3;
    upstream arms {
        server 127.0.0.1:$PORT_PRIMARY weight=80;
        server 127.0.0.1:$PORT_CANARY weight=20;
        # Idle upstream connections kept per worker. Above the h2load streams in flight, so nginx
        # never closes and reopens upstream connections under this load (HAProxy's http-reuse
        # always keeps them too); upstream keepalive_requests likewise defaults to 1000.
        keepalive 1024;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }
    server {
        # reuseport: one listening socket per worker, so the kernel spreads the connections over
        # both workers. Without it, the 32 connections h2load opens at once can land unevenly
        # (HAProxy balances its accepts over its threads by itself).
        listen 127.0.0.1:$PORT_NGINX ssl http2 reuseport;
        # nginx 1.22: 'http2' without 'ssl' = this port speaks only h2c with prior knowledge
        # (no HTTP/1.1, no Upgrade), the same as HAProxy's 'proto h2'.
        listen 127.0.0.1:$PORT_NGINX_H2C http2 reuseport;
        location / {
            proxy_pass http://arms;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # \$http_host (built from :authority under h2) keeps the port, as HAProxy's Host and
            # X-Forwarded-Host do; \$host would drop it.
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$http_host;
        }
    }
}
EOF
    nginx -t -q -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/nginx-t.log" 2>&1 \
        || { cat "$d/nginx-t.log" "$d/logs/error.log" >&2 2>/dev/null; die "generated nginx proxy config is invalid"; }
    log "starting nginx proxy ($NGINX_WORKERS workers) on :$PORT_NGINX (h2 over TLS) and :$PORT_NGINX_H2C (h2c)"
    nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/stdout.log" 2>&1 &
    NGINX_PROXY_PID=$!
    wait_port "$NGINX_PROXY_PID" "$PORT_NGINX" "nginx proxy" "$d/logs/error.log"
    wait_port "$NGINX_PROXY_PID" "$PORT_NGINX_H2C" "nginx proxy" "$d/logs/error.log"
}

start_nginx   # the upstream: 1 worker, :PORT_PRIMARY (X-Arm: v1) and :PORT_CANARY (X-Arm: v2)
if has_target haproxy; then
    start_haproxy 4096 30s 10s 60s
    wait_port "${PID_OF[haproxy]}" "$PORT_HAPROXY_H2C" "haproxy (h2c bind)" "$TMP/haproxy/haproxy.log"
    if grep -q ALERT "$TMP/haproxy/haproxy.log"; then
        cat "$TMP/haproxy/haproxy.log" >&2; die "haproxy reported alerts at startup (log above)"
    fi
fi
if has_target canarygate; then
    # Idle upstream connections kept per endpoint and loop: like the nginx proxy's `keepalive 1024`
    # (HAProxy keeps all of them), above the streams in flight, so no proxy reconnects under load.
    start_canarygate "limits: { maxIdlePerEndpoint: 1024 }"
    wait_port "${PID_OF[canarygate]}" "$PORT_CANARYGATE_H2C" "canarygate (h2c listener)" "$TMP/canarygate/canarygate.log"
fi
if has_target nginx; then start_nginx_proxy; fi

# ---------------------------------------------------------------- problems: flag, never hang, never abort the others
# flag TARGET MODE ROUND WHY (ROUND "-" for the sanity check) records why a row is flagged, in
# PROBLEMS (target.mode, round, why; tab-separated). A target/mode that fails its sanity check is not
# measured (its rounds could only fail); a proxy that dies is flagged from then on.
PROBLEMS="$TMP/problems.tsv"
: >"$PROBLEMS"
declare -A FLAGGED=()
flag() { FLAGGED[$1.$2]=1; printf '%s\t%s\t%s\n' "$1.$2" "$3" "$4" >>"$PROBLEMS"; }
flagged() { [ -n "${FLAGGED[$1.$2]:-}" ]; }
# problem_text TARGET MODE : the reasons, one clause per distinct reason with the rounds it happened in.
problem_text() {
    awk -F'\t' -v k="$1.$2" '
        $1 != k { next }
        $2 == "-" { s = s (s == "" ? "" : "; ") $3; next }
        !($3 in r) { order[++n] = $3; r[$3] = $2; next }
        { r[$3] = r[$3] ", " $2 }
        END {
            for (i = 1; i <= n; i++) s = s (s == "" ? "" : "; ") (index(r[order[i]], ",") ? "rounds " : "round ") r[order[i]] ": " order[i]
            print s
        }' "$PROBLEMS"
}

# ---------------------------------------------------------------- sanity: 200s over HTTP/2, and the split
# 200 requests over one HTTP/2 connection with nghttp (-m 200: the same URL 200 times, one session),
# counting the :status and the X-Arm header the upstream adds. Not curl: curl 7.88 (Debian 12)
# fails every request after the first on a reused h2c prior-knowledge connection ("Error in the
# HTTP2 framing layer"), against HAProxy and nginx alike. nghttp offers only h2 over TLS, so a
# server that does not select it fails here ("HTTP/2 protocol was not selected").
declare -A SKIP=()
for mode in "${MODE_LIST[@]}"; do
    for t in "${TARGET_LIST[@]}"; do
        out="$TMP/sanity-$t-$mode.txt"
        rc=0
        timeout --kill-after=5 30 nghttp -v -n -m 200 -t 10 "$(url_of "$t" "$mode")" >"$out" 2>&1 || rc=$?
        n200="$(grep -c '^\[ *[0-9.]*\] recv (stream_id=[0-9]*) :status: 200$' "$out" || true)"
        nv2="$(grep -ci '^\[ *[0-9.]*\] recv (stream_id=[0-9]*) x-arm: v2$' "$out" || true)"
        if [ "$rc" -ne 0 ] || [ "${n200:-0}" -ne 200 ]; then
            why="sanity: ${n200:-0}/200 HTTP/2 200s"
            [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why+=", nghttp killed after 30 s"
            msg="$(grep -E '^\[ERROR\]|not selected|Some requests were not processed|GOAWAY' "$out" | head -2 | tr -s ' \n' ' ' | sed 's/ *$//' || true)"
            [ -n "$msg" ] && why+=" (nghttp: $msg)"
            flag "$t" "$mode" - "$why"; SKIP[$t.$mode]=1
            log "WARNING: $t $mode: $why; not measured"
        else
            log "sanity $t $mode: 200/200 HTTP/2 200 over one connection, canary share $nv2/200 (expect 40 for 80/20)"
        fi
    done
done

# ---------------------------------------------------------------- measurement primitive

# h2_run TARGET MODE OUTFILE DURATION -> H2_RES="rps succeeded cpu_us failed errored timeout non2xx
# user_us system_us machine_us" (per request succeeded: the proxy's user and system CPU, and every
# CPU tick of the machine, idle ones included, i.e. CPUs × wall time)
# and H2_WHY (what is wrong with this run, "" if nothing).
# Over TLS h2load offers only h2 (--npn-list=h2): with its default list it would quietly fall back to
# HTTP/1.1 when the server does not select h2, and measure the wrong protocol.
H2_RES=""; H2_WHY=""
declare -A NEGOTIATED=()
h2_run() {
    local t="$1" mode="$2" out="$3" dur="$4" pid u0 s0 u1 s1 m0 m1 rc=0 proto opts=()
    pid="$(proxy_pid "$t")"
    H2_RES="0 0 0 0 0 0 0 0 0 0"; H2_WHY=""
    if ! kill -0 "$pid" 2>/dev/null; then H2_WHY="$t is not running"; return 0; fi
    [ "$mode" = tls ] && opts=(--npn-list=h2)
    read -r u0 s0 <<<"$(tree_cpu_split "$pid")"; m0="$(machine_ticks)"
    bg_run "$out" timeout --kill-after=5 "$(h2load_limit "$dur")" \
        h2load -c "$H2LOAD_CONNS" -m "$H2LOAD_STREAMS" -t "$H2LOAD_THREADS" -D "$dur" "${opts[@]}" "$(url_of "$t" "$mode")" \
        || rc=$?
    read -r u1 s1 <<<"$(tree_cpu_split "$pid")"; m1="$(machine_ticks)"
    # h2load prints, among others:
    #   finished in 10.00s, 41234.50 req/s, 1.23MB/s
    #   requests: 412345 total, 412665 started, 412345 done, 412345 succeeded, 0 failed, 0 errored, 0 timeout
    #   status codes: 412345 2xx, 0 3xx, 0 4xx, 0 5xx
    H2_RES="$(awk -v u="$(( u1 - u0 ))" -v s="$(( s1 - s0 ))" -v m="$(( m1 - m0 ))" -v hz="$CLK_TCK" '
        /^finished in/   { for (i = 1; i <= NF; i++) if ($(i+1) ~ /^req\/s/) { v = $i; gsub(/,/, "", v); rps = v + 0 } }
        /^requests:/     { for (i = 2; i <= NF; i++) { v = $i; k = $(i+1); gsub(/,/, "", k)
                               if (k == "succeeded") ok = v; if (k == "failed") f = v; if (k == "errored") e = v; if (k == "timeout") to = v } }
        /^status codes:/ { for (i = 3; i <= NF; i++) { k = $(i+1); gsub(/,/, "", k); if (k ~ /^[345]xx$/) bad += $i } }
        END {
            per = (ok > 0) ? 1000000 / hz / ok : 0
            printf "%.0f %d %.2f %d %d %d %d %.2f %.2f %.2f\n", rps, ok + 0, (u + s) * per, f + 0, e + 0, to + 0, bad + 0, u * per, s * per, m * per
        }' "$out")"
    local rps ok cpu f e to bad
    read -r rps ok cpu f e to bad _ <<<"$H2_RES"
    # Over TLS this is what ALPN selected. For http:// URLs h2load prints "h2c" whatever the server
    # does, so h2c is judged by the requests that succeeded (and by the sanity check).
    proto="$(awk -F': ' '/^Application protocol:/ { print $2; exit }' "$out")"
    if [ "$mode" = tls ] && [ -z "${NEGOTIATED[$t]:-}" ] && [ "$proto" = h2 ]; then
        NEGOTIATED[$t]="$(awk -F': ' '/^TLS Protocol:/ { p = $2 } /^Cipher:/ { c = $2 } /^Server Temp Key:/ { k = $2 }
            END { printf "%s, %s, key exchange %s", p, c, k }' "$out"), ALPN h2"
    fi
    local why=()
    [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why+=("h2load killed after $(h2load_limit "$dur") s")
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] && why+=("h2load exit $rc")
    if [ "$mode" = tls ] && [ "$proto" != h2 ]; then why+=("ALPN did not select h2 (h2load: ${proto:-no protocol negotiated})"); fi
    [ "$ok" -gt 0 ] || why+=("no request succeeded")
    [ "$f" -eq 0 ] || why+=("$f failed")
    [ "$e" -eq 0 ] || why+=("$e errored")
    [ "$to" -eq 0 ] || why+=("$to timed out")
    [ "$bad" -eq 0 ] || why+=("$bad non-2xx")
    kill -0 "$pid" 2>/dev/null || why+=("$t died during the run")
    if [ "${#why[@]}" -gt 0 ]; then H2_WHY="$(IFS=';'; echo "${why[*]}")"; H2_WHY="${H2_WHY//;/; }"; fi
    return 0
}

# ---------------------------------------------------------------- warm-up, then alternating rounds
if [ "$WARMUP" != "0" ]; then
    for mode in "${MODE_LIST[@]}"; do
        for t in "${TARGET_LIST[@]}"; do
            [ -z "${SKIP[$t.$mode]:-}" ] || continue
            log "warm-up $t $mode ($WARMUP)"
            h2_run "$t" "$mode" "$TMP/h2load-warmup-$t-$mode.txt" "$WARMUP"
            [ -z "$H2_WHY" ] || log "  warm-up $t $mode: $H2_WHY"
        done
    done
fi

RESULTS="$TMP/rounds.tsv"    # mode target round rps succeeded cpu_us failed errored timeout non2xx user_us system_us machine_us
: >"$RESULTS"
n="${#TARGET_LIST[@]}"
for r in $(seq 1 "$ROUNDS"); do
    for mode in "${MODE_LIST[@]}"; do
        # Rotate the order every round so no target always runs first (or last).
        for k in $(seq 0 $(( n - 1 ))); do
            t="${TARGET_LIST[$(( (k + r - 1) % n ))]}"
            [ -z "${SKIP[$t.$mode]:-}" ] || continue
            log "round $r/$ROUNDS $mode: $t (h2load -c$H2LOAD_CONNS -m$H2LOAD_STREAMS -t$H2LOAD_THREADS -D $DURATION)"
            h2_run "$t" "$mode" "$TMP/h2load-r$r-$t-$mode.txt" "$DURATION"
            echo "$mode $t $r $H2_RES" >>"$RESULTS"
            read -r rps ok cpu f e to bad _ <<<"$H2_RES"
            log "  $t $mode: $rps req/s, $cpu CPU µs/req, failed $f, errored $e, timeout $to, non-2xx $bad"
            if [ -n "$H2_WHY" ]; then
                flag "$t" "$mode" "$r" "$H2_WHY"
                log "  WARNING: $t $mode round $r: $H2_WHY"
            fi
        done
    done
done

# ---------------------------------------------------------------- report
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -v m="$1" -v t="$2" -v c="$3" '$1 == m && $2 == t { print $c }' "$RESULTS"; }
sumcol() { col "$@" | awk '{ s += $1 } END { print s + 0 }'; }

declare -A MED_RPS MED_CPU MED_USER MED_SYS SUMS
for mode in "${MODE_LIST[@]}"; do
    for t in "${TARGET_LIST[@]}"; do
        MED_RPS[$t.$mode]="$(col "$mode" "$t" 4 | median)"
        MED_CPU[$t.$mode]="$(col "$mode" "$t" 6 | median)"
        MED_USER[$t.$mode]="$(col "$mode" "$t" 11 | median)"
        MED_SYS[$t.$mode]="$(col "$mode" "$t" 12 | median)"
        if [ -n "${SKIP[$t.$mode]:-}" ]; then
            SUMS[$t.$mode]="– | – | – | –"   # not measured
        else
            SUMS[$t.$mode]="$(sumcol "$mode" "$t" 7) | $(sumcol "$mode" "$t" 8) | $(sumcol "$mode" "$t" 9) | $(sumcol "$mode" "$t" 10)"
        fi
    done
done

ver() { "$@" 2>&1 | head -1 | tr -s ' ' || true; }
report_stamp
ANY_FLAGGED=""

{
echo
echo "## HTTP/2 comparison $NOW"
echo
echo "Command: \`$CMDLINE\`"
echo
report_host_line
echo "- Tools: $(ver h2load --version); $(haproxy -v 2>/dev/null | head -1 | awk '{ print "HAProxy", $3 }'); $(nginx -v 2>&1 | sed 's/.*\///' | sed 's/^/nginx /'); $(openssl version | awk '{ print "openssl", $2 }')"
echo "- Canarygate: $( has_target canarygate && echo "$CANARYGATE_BIN @ $CG_VERSION, --threads $CANARYGATE_THREADS; listeners \`tls: { certificate, privateKey }\` (h2 over TLS) and plain (h2c), canary weight 20" || echo "not measured in this run")"
echo "- Setup: nginx upstream (1 worker, HTTP/1.1, \`200 \"ok\\n\"\`) on :$PORT_PRIMARY (primary) / :$PORT_CANARY (canary); every proxy splits 80/20 over them with HTTP/1.1 keep-alive and adds X-Forwarded-For/-Proto/-Host. HAProxy: nbthread $HAPROXY_THREADS, \`bind … ssl crt combined.pem alpn h2,http/1.1 ssl-min-ver TLSv1.2\` and \`bind … proto h2\`, roundrobin 80/20, http-reuse always. nginx proxy: worker_processes $NGINX_WORKERS, \`listen … ssl http2 reuseport\` and \`listen … http2 reuseport\` (h2c prior knowledge), upstream weights 80/20, keepalive 1024. Same self-signed ECDSA P-256 certificate for all. All on one $(nproc)-core machine, load generator included."
for t in "${TARGET_LIST[@]}"; do
    if has_mode tls; then echo "- Negotiated with $t over TLS (h2load): ${NEGOTIATED[$t]:-not h2 (see the flagged row)}"; fi
done
echo "- Load: \`h2load -c $H2LOAD_CONNS -m $H2LOAD_STREAMS -t $H2LOAD_THREADS -D $DURATION\` (over TLS with \`--npn-list=h2\`: h2 or nothing), $ROUNDS alternating round(s) after $( [ "$WARMUP" = 0 ] && echo "no warm-up" || echo "a $WARMUP warm-up per target and mode"), medians shown; CPU = utime+stime of the proxy's processes (all threads; nginx: master + workers) / requests succeeded (tick = $(( 1000000 / CLK_TCK )) µs). A row is FLAGGED when any of its runs had failed, errored or timed-out requests, non-2xx answers, no h2, or the proxy died; its figures are then not comparable."
echo
echo "| mode | target | req/s (median) | CPU µs/req (median) | user | system | failed | errored | timeout | non-2xx | status |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for mode in "${MODE_LIST[@]}"; do
    for t in "${TARGET_LIST[@]}"; do
        status="ok"
        if flagged "$t" "$mode"; then status="**FLAGGED**: $(problem_text "$t" "$mode")"; ANY_FLAGGED=1; fi
        echo "| $(mode_label "$mode") | $t | ${MED_RPS[$t.$mode]} | ${MED_CPU[$t.$mode]} | ${MED_USER[$t.$mode]} | ${MED_SYS[$t.$mode]} | ${SUMS[$t.$mode]} | $status |"
    done
done
pairs=()
for p in "canarygate haproxy" "canarygate nginx" "haproxy nginx"; do
    read -r a b <<<"$p"
    if has_target "$a" && has_target "$b"; then pairs+=("$p"); fi
done
if [ "${#pairs[@]}" -gt 0 ]; then
    echo
    echo "Ratios (a ratio from a flagged row is marked and not to be trusted):"
    echo
    echo "| mode | ratio | req/s | CPU µs/req |"
    echo "|---|---|---:|---:|"
    for mode in "${MODE_LIST[@]}"; do
        for p in "${pairs[@]}"; do
            read -r a b <<<"$p"
            mark=""; { flagged "$a" "$mode" || flagged "$b" "$mode"; } && mark=" (flagged)"
            awk -v m="$(mode_label "$mode")" -v a="$a" -v b="$b" -v mark="$mark" \
                -v r1="${MED_RPS[$a.$mode]}" -v r0="${MED_RPS[$b.$mode]}" -v c1="${MED_CPU[$a.$mode]}" -v c0="${MED_CPU[$b.$mode]}" '
                function ratio(x, y) { return (y ~ /^[0-9.]+$/ && y + 0 > 0 && x ~ /^[0-9.]+$/ && x + 0 > 0) ? sprintf("%.2f×", x / y) mark : "n/a" mark }
                BEGIN { printf "| %s | %s / %s | %s | %s |\n", m, a, b, ratio(r1, r0), ratio(c1, c0) }'
        done
    done
fi
if has_target canarygate && has_target haproxy; then
    echo
    echo "Ceiling: h2load, the nginx upstream and the proxy share the machine and keep it busy, so each request costs the machine its CPUs × wall time / requests (\"machine µs/req\", idle ticks included). If Canarygate's own user-space work (its code, libnghttp2, OpenSSL, the Swift runtime) cost nothing and everything else stayed the same, a request would cost that minus Canarygate's user µs, and Canarygate would serve req/s × machine / (machine − user). That is the most any user-space optimisation can give in this setup:"
    echo
    echo "| mode | machine µs/req, HAProxy | machine µs/req, Canarygate | of which Canarygate user | Canarygate req/s with no user time | ratio to HAProxy req/s | user µs/req that 1.2× needs removed |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for mode in "${MODE_LIST[@]}"; do
        { [ -z "${SKIP[canarygate.$mode]:-}" ] && [ -z "${SKIP[haproxy.$mode]:-}" ]; } || continue
        mark=""; { flagged canarygate "$mode" || flagged haproxy "$mode"; } && mark=" (flagged)"
        ceiling="$(awk -v m="$mode" '$1 == m && $2 == "canarygate" && $13 > $11 { print $4 * $13 / ($13 - $11) }' "$RESULTS" | median)"
        awk -v m="$(mode_label "$mode")" -v mark="$mark" -v mh="$(col "$mode" haproxy 13 | median)" -v mc="$(col "$mode" canarygate 13 | median)" \
            -v u="${MED_USER[canarygate.$mode]}" -v c="$ceiling" -v h="${MED_RPS[haproxy.$mode]}" '
            BEGIN {
                # 1.2× HAProxy req/s means a machine time per request of HAProxy machine time / 1.2.
                need = mc - mh / 1.2
                removed = (need <= 0) ? "none" : (need > u) ? sprintf("%.2f (more than all of it)", need) : sprintf("%.2f = %.0f%%", need, 100 * need / u)
                printf "| %s | %s | %s | %s | %.0f | %s | %s |\n", m, mh, mc, u, c, (h > 0 && c ~ /^[0-9.]+$/) ? sprintf("%.2f×", c / h) mark : "n/a" mark, removed
            }'
    done
fi
echo
echo "<details><summary>Per-round figures</summary>"
echo
echo "| round | mode | target | req/s | requests succeeded | CPU µs/req | user | system | machine µs/req | failed | errored | timeout | non-2xx |"
echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
sort -k3,3n -s "$RESULTS" | awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $3, $1, $2, $4, $5, $6, $11, $12, $13, $7, $8, $9, $10 }'
echo
echo "</details>"
} >"$TMP/report.md"

# Flags go to stderr too, so they are seen even when stdout is redirected.
for mode in "${MODE_LIST[@]}"; do
    for t in "${TARGET_LIST[@]}"; do
        if flagged "$t" "$mode"; then log "FLAGGED $t $mode: $(problem_text "$t" "$mode")"; fi
    done
done
cat "$TMP/report.md"
[ -z "$ANY_FLAGGED" ] || exit 1
