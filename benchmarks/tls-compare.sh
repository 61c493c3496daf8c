#!/usr/bin/env bash
# Purpose: TLS termination, Canarygate vs HAProxy (same self-signed P-256 certificate, same nginx upstream, 80/20): HTTPS keep-alive req/s, TLS handshakes/s, CPU per request/handshake, memory per idle TLS connection.
#
# Usage (from anywhere; paths are relative to the repository root):
#   benchmarks/tls-compare.sh
#   ROUNDS=5 DURATION=10s benchmarks/tls-compare.sh
#   TARGETS=haproxy DURATION=3s ROUNDS=1 CONNS=500 benchmarks/tls-compare.sh   # harness smoke test, no Canarygate
# Progress on stderr, report (markdown) on stdout. See benchmarks/README.md ("TLS termination").
set -euo pipefail

# ---------------------------------------------------------------- settings
ROUNDS="${ROUNDS:-3}"                    # alternating rounds (keep-alive, handshakes, s_time)
DURATION="${DURATION:-10s}"              # wrk duration per round and target
WARMUP="${WARMUP:-2s}"                   # one keep-alive wrk warm-up per target ("0" = none)
TARGETS="${TARGETS:-haproxy canarygate}" # any of: haproxy canarygate
WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNS="${WRK_CONNS:-64}"
HS_CONNS="${HS_CONNS:-64}"               # wrk -c for the handshake phase (Connection: close)
STIME="${STIME:-5}"                      # openssl s_time -new -time STIME per round and target ("0" = skip)
CONNS="${CONNS:-2000}"                   # idle TLS connections for the memory phase ("0" = skip)
INFLIGHT="${INFLIGHT:-16}"
WARMUP_REQUESTS="${WARMUP_REQUESTS:-1000}"
WARMUP_CONNS="${WARMUP_CONNS:-8}"
SETTLE="${SETTLE:-1}"
CLIENT_TIMEOUT="${CLIENT_TIMEOUT:-60}"
CANARYGATE_BIN="${CANARYGATE_BIN:-.build/release/canarygate}"
CANARYGATE_THREADS="${CANARYGATE_THREADS:-2}"
HAPROXY_THREADS="${HAPROXY_THREADS:-2}"
KEEP_LOGS="${KEEP_LOGS:-}"

PORT_PRIMARY=18201
PORT_CANARY=18202
PORT_HAPROXY=18280
PORT_CANARYGATE=18281
PORT_ADMIN=18921

# ---------------------------------------------------------------- helpers
LOG_TAG=tls-bench
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=benchmarks/lib.sh
source "$SCRIPT_DIR/lib.sh"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"
CLIENT="$SCRIPT_DIR/idle_clients.py"

command_line "benchmarks/tls-compare.sh${*:+ $*}" ROUNDS DURATION WARMUP TARGETS WRK_THREADS WRK_CONNS HS_CONNS STIME \
    CONNS INFLIGHT WARMUP_REQUESTS WARMUP_CONNS SETTLE CLIENT_TIMEOUT CANARYGATE_BIN CANARYGATE_THREADS HAPROXY_THREADS
parse_targets haproxy canarygate

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
[[ "$CONNS" =~ ^[0-9]+$ ]] || die "CONNS must be a non-negative integer (got '$CONNS')"
[[ "$STIME" =~ ^[0-9]+$ ]] || die "STIME must be a non-negative integer (seconds)"
need wrk; need nginx; need curl; need ss; need awk; need getconf; need openssl
has_target haproxy && need haproxy
[ "$CONNS" -eq 0 ] || need python3
CLK_TCK="$(getconf CLK_TCK)"

# fd limit for the memory phase (inherited by everything started below), as idle-memory.sh.
FD_NEED=$(( 3 * CONNS + 1000 ))
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$FD_NEED" ]; then
    hard="$(ulimit -Hn)"
    [ "$hard" = unlimited ] || [ "$hard" -ge "$FD_NEED" ] || die "CONNS=$CONNS needs $FD_NEED descriptors; hard limit is $hard"
    ulimit -Sn "$FD_NEED" || die "cannot raise the fd limit to $FD_NEED"
fi
HAPROXY_MAXCONN=$(( CONNS + 1000 > 4096 ? CONNS + 1000 : 4096 ))

# ---------------------------------------------------------------- state & cleanup; ports must be free
before_cleanup() { [ -n "${TMP:-}" ] && : >"$TMP/release" 2>/dev/null || true; }
init_run tls
preflight

# ---------------------------------------------------------------- certificate (self-signed, ECDSA P-256)
CERT="$TMP/cert.pem"; KEY="$TMP/key.pem"; COMBINED="$TMP/combined.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$KEY" -out "$CERT" >"$TMP/openssl-req.log" 2>&1 || { cat "$TMP/openssl-req.log" >&2; die "openssl req failed"; }
cat "$CERT" "$KEY" >"$COMBINED"   # HAProxy wants certificate + key in one PEM
chmod 644 "$KEY" "$COMBINED"
log "self-signed ECDSA P-256 certificate in $TMP"

# ---------------------------------------------------------------- upstream and targets
HAPROXY_BIND_EXTRA="ssl crt $COMBINED alpn http/1.1 ssl-min-ver TLSv1.2"
HAPROXY_FORWARDED_PROTO=https
HAPROXY_GLOBAL_EXTRA="    stats socket $TMP/haproxy-stats.sock mode 600"
CANARYGATE_LISTENER_EXTRA="tls: { certificate: $CERT, privateKey: $KEY }"

start_nginx
if has_target haproxy; then
    start_haproxy "$HAPROXY_MAXCONN" 120s 120s 120s
    if grep -Eq 'ALERT|maxconn' "$TMP/haproxy/haproxy.log"; then
        cat "$TMP/haproxy/haproxy.log" >&2; die "haproxy reported alerts (or lowered maxconn) at startup (log above)"
    fi
    grep -q WARNING "$TMP/haproxy/haproxy.log" && { log "haproxy startup warnings:"; grep WARNING "$TMP/haproxy/haproxy.log" >&2; }
fi
if has_target canarygate; then start_canarygate "timeouts: { idle: 120s, requestHeader: 120s }"; fi

# ---------------------------------------------------------------- sanity: 200s, split, what is negotiated
declare -A NEGOTIATED
for t in "${TARGET_LIST[@]}"; do
    port="$(target_port "$t")"
    urls=(); for i in $(seq 1 200); do urls+=("https://127.0.0.1:$port/"); done
    curl -sSk --http1.1 --max-time 20 -D "$TMP/sanity-$t.hdr" "${urls[@]}" >/dev/null \
        || die "$t: sanity requests to https://127.0.0.1:$port failed"
    n200="$(grep -c '^HTTP/1.1 200' "$TMP/sanity-$t.hdr" || true)"
    nv2="$(grep -ci '^x-arm: v2' "$TMP/sanity-$t.hdr" || true)"
    [ "$n200" -eq 200 ] || die "$t: only $n200/200 sanity requests answered 200"
    # What a default OpenSSL 3 client (as wrk and s_time are) negotiates, plus ALPN.
    openssl s_client -connect "127.0.0.1:$port" -alpn http/1.1 </dev/null >"$TMP/s_client-$t.txt" 2>&1 || true
    NEGOTIATED[$t]="$(awk -F': ' '
        /^New, / { split($0, a, ", Cipher is "); proto = a[1]; sub(/^New, /, "", proto); cipher = a[2] }
        /^Negotiated TLS1.3 group:/ { grp = $2 } /^Server Temp Key:/ { grp = $2 }
        /^Peer signature type:/ { sig = $2 } /^ALPN protocol:/ { alpn = $2 }
        END { printf "%s, %s, key exchange %s, signature %s, ALPN %s", proto, cipher, grp, sig, (alpn == "" ? "none" : alpn) }' "$TMP/s_client-$t.txt")"
    log "sanity $t: 200/200 OK over one TLS connection, canary share $nv2/200 (expect 40); negotiated: ${NEGOTIATED[$t]}"
done

# ---------------------------------------------------------------- measurement primitives
passive_opens() { awk '$1 == "Tcp:" && !h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next } $1 == "Tcp:" { print $c["PassiveOpens"] }' /proc/net/snmp; }

# wrk_run TARGET OUTFILE DURATION CONNS [wrk args...] -> WRK_RES="rps requests cpu_us accepted_per_req non2xx sockerr"
# accepted_per_req: TCP connections accepted on this host (all ports) during the run / requests;
# ~0 for keep-alive, ~1 when every request opens a new connection (a handshake).
WRK_RES=""
wrk_run() {
    local t="$1" out="$2" dur="$3" conns="$4" port pid c0 c1 o0 o1; shift 4
    port="$(target_port "$t")"; pid="${PID_OF[$t]}"
    c0="$(tree_cpu_ticks "$pid")"; o0="$(passive_opens)"
    bg_run "$out" wrk -t"$WRK_THREADS" -c"$conns" -d"$dur" "$@" "https://127.0.0.1:$port/" \
        || { cat "$out" >&2; die "wrk against $t failed"; }
    c1="$(tree_cpu_ticks "$pid")"; o1="$(passive_opens)"
    kill -0 "$pid" 2>/dev/null || die "$t died during the wrk run"
    WRK_RES="$(awk -v c0="$c0" -v c1="$c1" -v o0="$o0" -v o1="$o1" -v hz="$CLK_TCK" '
        /requests in/        { req = $1 }
        /^Requests\/sec:/    { rps = $2 }
        /Non-2xx or 3xx/     { non2xx = $NF }
        /Socket errors:/     { gsub(/,/, ""); sockerr = $4 + $6 + $8 + $10 }
        END {
            cpu = (req > 0) ? (c1 - c0) * 1000000 / hz / req : 0
            acc = (req > 0) ? (o1 - o0) / req : 0
            printf "%.0f %d %.2f %.3f %d %d\n", rps, req, cpu, acc, non2xx + 0, sockerr + 0
        }' "$out")"
}

# stime_run TARGET OUTFILE -> STIME_RES="handshakes_per_s handshakes cpu_us"
STIME_RES=""
stime_run() {
    local t="$1" out="$2" port pid c0 c1
    port="$(target_port "$t")"; pid="${PID_OF[$t]}"
    c0="$(tree_cpu_ticks "$pid")"
    bg_run "$out" openssl s_time -connect "127.0.0.1:$port" -new -time "$STIME" \
        || { cat "$out" >&2; die "openssl s_time against $t failed"; }
    c1="$(tree_cpu_ticks "$pid")"
    # "N connections in T real seconds, ..."
    STIME_RES="$(awk -v c0="$c0" -v c1="$c1" -v hz="$CLK_TCK" '
        /connections in .* real seconds/ { n = $1; s = $4 }
        END { if (n > 0 && s > 0) printf "%.0f %d %.1f\n", n / s, n, (c1 - c0) * 1000000 / hz / n; else print "0 0 0" }' "$out")"
}

# ---------------------------------------------------------------- 1./2. alternating rounds
if [ "$WARMUP" != "0" ]; then
    for t in "${TARGET_LIST[@]}"; do
        log "warm-up $t ($WARMUP, keep-alive)"
        wrk_run "$t" "$TMP/wrk-warmup-$t.txt" "$WARMUP" "$WRK_CONNS"
    done
fi

KA="$TMP/keepalive.tsv"; HS="$TMP/handshake.tsv"; ST="$TMP/stime.tsv"
: >"$KA"; : >"$HS"; : >"$ST"
n="${#TARGET_LIST[@]}"
for r in $(seq 1 "$ROUNDS"); do
    for k in $(seq 0 $(( n - 1 ))); do
        t="${TARGET_LIST[$(( (k + r - 1) % n ))]}"
        log "round $r/$ROUNDS keep-alive: $t (wrk -t$WRK_THREADS -c$WRK_CONNS -d$DURATION)"
        wrk_run "$t" "$TMP/wrk-ka-r$r-$t.txt" "$DURATION" "$WRK_CONNS"
        echo "$t $r $WRK_RES" >>"$KA"
        read -r rps req cpu acc non2xx sockerr <<<"$WRK_RES"
        log "  $t: $rps req/s, $cpu CPU µs/req, accepted/req $acc, non-2xx $non2xx, socket errors $sockerr"
    done
    for k in $(seq 0 $(( n - 1 ))); do
        t="${TARGET_LIST[$(( (k + r - 1) % n ))]}"
        log "round $r/$ROUNDS handshakes: $t (wrk -t$WRK_THREADS -c$HS_CONNS -d$DURATION -H 'Connection: close')"
        wrk_run "$t" "$TMP/wrk-hs-r$r-$t.txt" "$DURATION" "$HS_CONNS" -H 'Connection: close'
        echo "$t $r $WRK_RES" >>"$HS"
        read -r rps req cpu acc non2xx sockerr <<<"$WRK_RES"
        log "  $t: $rps handshakes/s, $cpu CPU µs/handshake, accepted/req $acc, non-2xx $non2xx, socket errors $sockerr"
    done
    if [ "$STIME" -gt 0 ]; then
        for k in $(seq 0 $(( n - 1 ))); do
            t="${TARGET_LIST[$(( (k + r - 1) % n ))]}"
            log "round $r/$ROUNDS s_time: $t (openssl s_time -new -time $STIME)"
            stime_run "$t" "$TMP/stime-r$r-$t.txt"
            echo "$t $r $STIME_RES" >>"$ST"
            read -r hps nhs cpu <<<"$STIME_RES"
            log "  $t: $hps handshakes/s ($nhs), $cpu CPU µs/handshake"
        done
    fi
done

# HAProxy's own count of TLS session reuse: confirms that wrk/s_time do full handshakes.
HAPROXY_REUSE="n/a"
if has_target haproxy && [ -S "$TMP/haproxy-stats.sock" ]; then
    HAPROXY_REUSE="$(python3 - "$TMP/haproxy-stats.sock" <<'EOF' 2>/dev/null || echo "n/a"
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show info\n")
out = b""
while True:
    d = s.recv(65536)
    if not d: break
    out += d
info = dict(l.split(": ", 1) for l in out.decode().splitlines() if ": " in l)
print(f"SslFrontendSessionReuse_pct={info.get('SslFrontendSessionReuse_pct', '?')}, CumSslConns={info.get('CumSslConns', '?')}")
EOF
)"
    log "haproxy TLS stats: $HAPROXY_REUSE"
fi

# ---------------------------------------------------------------- 3. memory per idle TLS connection
CLIENT_PID=""
bg_client() {
    local out="$1"; shift
    python3 "$CLIENT" "$@" >"$out" 2>&1 &
    CLIENT_PID=$!; HELPER_PIDS+=("$CLIENT_PID")
}
forget_client() { HELPER_PIDS=("${HELPER_PIDS[@]/$CLIENT_PID}"); CLIENT_PID=""; }

MEM="$TMP/memory.tsv"   # target before_kb after_kb established anon_before anon_after
: >"$MEM"
if [ "$CONNS" -gt 0 ]; then
    for t in "${TARGET_LIST[@]}"; do
        port="$(target_port "$t")"; pid="${PID_OF[$t]}"
        if [ "$WARMUP_REQUESTS" -gt 0 ]; then
            bg_client "$TMP/warm-$t.txt" warm --tls --port "$port" --conns "$WARMUP_CONNS" --requests "$WARMUP_REQUESTS" \
                --timeout "$CLIENT_TIMEOUT"
            wait "$CLIENT_PID" || { cat "$TMP/warm-$t.txt" >&2; die "$t: TLS warm-up failed"; }
            forget_client
        fi
        sleep "$SETTLE"
        before="$(tree_status_kb "$pid")"; anon_before="$(tree_status_kb "$pid" RssAnon)"
        log "$t: VmRSS before = $before kB (RssAnon $anon_before kB); opening $CONNS idle TLS connections"
        rm -f "$TMP/ready" "$TMP/release"
        bg_client "$TMP/hold-$t.txt" hold --tls --port "$port" --conns "$CONNS" --inflight "$INFLIGHT" \
            --timeout "$CLIENT_TIMEOUT" --ready "$TMP/ready" --release "$TMP/release" --hold-max $(( CLIENT_TIMEOUT + 30 ))
        while [ ! -e "$TMP/ready" ]; do
            if ! kill -0 "$CLIENT_PID" 2>/dev/null; then
                wait "$CLIENT_PID" || true
                cat "$TMP/hold-$t.txt" >&2
                die "$t: the TLS client exited before all connections were set up (output above)"
            fi
            sleep 0.1
        done
        ready="$(cat "$TMP/ready")"
        grep -q "^ok=$CONNS failed=0 idle=$CONNS\$" "$TMP/ready" || { cat "$TMP/hold-$t.txt" >&2; die "$t: not every TLS connection completed its request ($ready)"; }
        sleep "$SETTLE"
        kill -0 "$pid" 2>/dev/null || die "$t died while holding the connections"
        after="$(tree_status_kb "$pid")"; anon_after="$(tree_status_kb "$pid" RssAnon)"
        seen="$(ss -Htn state established "( sport = :$port )" | wc -l)"
        log "$t: VmRSS after = $after kB (RssAnon $anon_after kB); established on :$port = $seen"
        [ "$seen" -ge "$CONNS" ] || log "WARNING: $t holds only $seen of the $CONNS client connections open"
        echo "$t $before $after $seen $anon_before $anon_after" >>"$MEM"
        : >"$TMP/release"
        wait "$CLIENT_PID" || { cat "$TMP/hold-$t.txt" >&2; die "$t: the TLS client failed"; }
        forget_client
        rm -f "$TMP/ready" "$TMP/release"
    done
fi

# ---------------------------------------------------------------- report
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$3"; }
sumcol() { col "$@" | awk '{ s += $1 } END { print s + 0 }'; }
declare -A R   # R[target.key]
for t in "${TARGET_LIST[@]}"; do
    R[$t.ka_rps]="$(col "$t" 3 "$KA" | median)";  R[$t.ka_cpu]="$(col "$t" 5 "$KA" | median)"
    R[$t.hs_rps]="$(col "$t" 3 "$HS" | median)";  R[$t.hs_cpu]="$(col "$t" 5 "$HS" | median)"
    R[$t.hs_acc]="$(col "$t" 6 "$HS" | median)"
    R[$t.err]="$(( $(sumcol "$t" 7 "$KA") + $(sumcol "$t" 7 "$HS") )), $(( $(sumcol "$t" 8 "$KA") + $(sumcol "$t" 8 "$HS") ))"
    R[$t.st_rps]="n/a"; R[$t.st_cpu]="n/a"
    if [ "$STIME" -gt 0 ]; then R[$t.st_rps]="$(col "$t" 3 "$ST" | median)"; R[$t.st_cpu]="$(col "$t" 5 "$ST" | median)"; fi
    R[$t.mem]="n/a"; R[$t.anon]="n/a"
    if [ "$CONNS" -gt 0 ]; then
        read -r _ b a _ ab aa <<<"$(awk -v t="$t" '$1 == t' "$MEM")"
        R[$t.mem]="$(awk -v b="$b" -v a="$a" -v n="$CONNS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')"
        R[$t.anon]="$(awk -v b="$ab" -v a="$aa" -v n="$CONNS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')"
        R[$t.rss]="$b → $a"
    fi
done

report_stamp
{
echo
echo "## TLS termination $NOW"
echo
echo "Command: \`$CMDLINE\`"
echo
report_host_line
echo "- Tools: wrk $(wrk -v 2>&1 | head -1 | awk '{ print $2 }'); $(haproxy -v 2>/dev/null | head -1 | awk '{ print "HAProxy", $3 }') ($(haproxy -vv 2>/dev/null | awk '/^Running on OpenSSL version/ { print "running on OpenSSL", $7 }')); $(nginx -v 2>&1 | sed 's/.*\///' | sed 's/^/nginx /'); $(openssl version | awk '{ print "openssl", $2 }'); $(python3 --version 2>&1)"
echo "- Canarygate: $( has_target canarygate && echo "$CANARYGATE_BIN @ $CG_VERSION, --threads $CANARYGATE_THREADS, TLS listener (libssl $(ldd "$CANARYGATE_BIN" 2>/dev/null | awk '/libssl/ { print $1; exit }'))" || echo "not measured in this run")"
echo "- Setup: self-signed ECDSA P-256 certificate (\`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1\`), the same for both; HAProxy nbthread $HAPROXY_THREADS, \`bind … ssl crt combined.pem alpn http/1.1 ssl-min-ver TLSv1.2\`, roundrobin 80/20, http-reuse always, forwardfor, X-Forwarded-Proto https, maxconn $HAPROXY_MAXCONN; Canarygate \`tls: { certificate, privateKey }\` on its listener, canary weight 20. nginx upstream (1 worker, plain HTTP) on :$PORT_PRIMARY / :$PORT_CANARY. All on one $(nproc)-core machine, load generators included."
for t in "${TARGET_LIST[@]}"; do echo "- Negotiated with $t (default OpenSSL 3 client, \`openssl s_client -alpn http/1.1\`): ${NEGOTIATED[$t]}"; done
echo "- Keep-alive: \`wrk -t$WRK_THREADS -c$WRK_CONNS -d$DURATION https://127.0.0.1:PORT/\`. Handshakes: \`wrk -t$WRK_THREADS -c$HS_CONNS -d$DURATION -H 'Connection: close'\` (every request a new TCP connection and a full TLS handshake; wrk does not resume sessions; HAProxy's counters at the end: $HAPROXY_REUSE). $( [ "$STIME" -gt 0 ] && echo "\`openssl s_time -new -time $STIME\`: one single-threaded client, handshake only, no request." ) $ROUNDS alternating round(s), medians. CPU = utime+stime of the target process (all threads) / requests (or handshakes) (tick = $(( 1000000 / CLK_TCK )) µs)."
[ "$CONNS" -gt 0 ] && echo "- Idle memory: $WARMUP_REQUESTS TLS warm-up requests over $WARMUP_CONNS connections, ${SETTLE} s, VmRSS before; then $CONNS TLS connections ($INFLIGHT in flight), each one keep-alive \`GET /\` read to the end and left idle, ${SETTLE} s, VmRSS after; (after − before) × 1024 / $CONNS. Kernel socket memory not included."
echo
echo "| target | HTTPS keep-alive req/s | CPU µs/req | handshakes/s (wrk, Connection: close) | CPU µs/handshake | accepted conns/req | s_time handshakes/s (1 client) | CPU µs/handshake (s_time) | bytes / idle TLS conn (VmRSS) | RssAnon bytes / conn | VmRSS kB before → after | errors (non-2xx, socket) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
for t in "${TARGET_LIST[@]}"; do
    echo "| $t | ${R[$t.ka_rps]} | ${R[$t.ka_cpu]} | ${R[$t.hs_rps]} | ${R[$t.hs_cpu]} | ${R[$t.hs_acc]} | ${R[$t.st_rps]} | ${R[$t.st_cpu]} | ${R[$t.mem]} | ${R[$t.anon]} | ${R[$t.rss]:-n/a} | ${R[$t.err]} |"
done
if has_target haproxy && has_target canarygate; then
    echo
    echo "Ratios canarygate / haproxy (issue target: TLS handshakes/s within 10 % of HAProxy's, i.e. ≥ 0.90×; the h2 target, ≥ 1.2× HAProxy's req/s, is measured by h2-compare.sh):"
    echo
    echo "| keep-alive req/s | CPU µs/req | handshakes/s (wrk) | CPU µs/handshake | s_time handshakes/s | bytes / idle TLS conn |"
    echo "|---:|---:|---:|---:|---:|---:|"
    awk -v a1="${R[canarygate.ka_rps]}" -v a0="${R[haproxy.ka_rps]}" -v b1="${R[canarygate.ka_cpu]}" -v b0="${R[haproxy.ka_cpu]}" \
        -v c1="${R[canarygate.hs_rps]}" -v c0="${R[haproxy.hs_rps]}" -v d1="${R[canarygate.hs_cpu]}" -v d0="${R[haproxy.hs_cpu]}" \
        -v e1="${R[canarygate.st_rps]}" -v e0="${R[haproxy.st_rps]}" -v f1="${R[canarygate.mem]}" -v f0="${R[haproxy.mem]}" '
        function ratio(a, b) { return (b ~ /^-?[0-9.]+$/ && b + 0 > 0 && a ~ /^-?[0-9.]+$/) ? sprintf("%.2f×", a / b) : "n/a" }
        BEGIN {
            hs = ratio(c1, c0)
            if (hs != "n/a") hs = hs ((c1 / c0 >= 0.9) ? " (meets ≥0.90×)" : " (misses ≥0.90×)")
            printf "| %s | %s | %s | %s | %s | %s |\n", ratio(a1, a0), ratio(b1, b0), hs, ratio(d1, d0), ratio(e1, e0), ratio(f1, f0)
        }'
fi
echo
echo "<details><summary>Per-round figures</summary>"
echo
echo "| round | target | phase | req/s or handshakes/s | requests | CPU µs each | accepted conns/req | non-2xx | socket errors |"
echo "|---:|---|---|---:|---:|---:|---:|---:|---:|"
{ awk '{ print $2, $1, "keep-alive", $3, $4, $5, $6, $7, $8 }' "$KA"
  awk '{ print $2, $1, "handshakes~(wrk)", $3, $4, $5, $6, $7, $8 }' "$HS"
  [ "$STIME" -gt 0 ] && awk '{ print $2, $1, "s_time", $3, $4, $5, "n/a", "n/a", "n/a" }' "$ST"
} | sort -k1,1n -s | awk '{ gsub(/~/, " ", $3); printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
echo
echo "</details>"
} >"$TMP/report.md"

for t in "${TARGET_LIST[@]}"; do
    [ "${R[$t.err]}" = "0, 0" ] || log "WARNING: $t had errors under wrk (non-2xx, socket): ${R[$t.err]}"
done
cat "$TMP/report.md"
