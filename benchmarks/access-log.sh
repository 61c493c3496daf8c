#!/usr/bin/env bash
# Purpose: the access log's cost at full load: wrk against Canarygate with the log off, json and combined, in alternating rounds: req/s, CPU µs/request, ratios to off.
#
# Usage (from anywhere; paths are relative to the repository root):
#   benchmarks/access-log.sh
#   ROUNDS=5 DURATION=10s benchmarks/access-log.sh
#   MODES="off json" ROUNDS=1 DURATION=3s benchmarks/access-log.sh     # smoke test
# Three proxies run side by side (same binary, same nginx upstream pair, canary weight 20), one per mode;
# each round measures each of them in turn (the order rotates), so drift of the machine hits all alike.
# Progress on stderr; the markdown report on stdout. See benchmarks/README.md.
set -euo pipefail

ROUNDS="${ROUNDS:-5}"                     # alternating saturation rounds
DURATION="${DURATION:-10s}"               # wrk duration per round and mode
WARMUP="${WARMUP:-2s}"                    # one wrk warm-up per mode before the rounds ("0" = none)
MODES="${MODES:-off json combined}"       # any of: off json combined (off = no accessLog section)
WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNS="${WRK_CONNS:-64}"
CANARYGATE_BIN="${CANARYGATE_BIN:-.build/release/canarygate}"
CANARYGATE_THREADS="${CANARYGATE_THREADS:-2}"
KEEP_LOGS="${KEEP_LOGS:-}"                # if set to a directory, configs and raw outputs are copied there (not the access logs)

PORT_PRIMARY=18011
PORT_CANARY=18012
PORT_BASE=18180                           # the proxies listen on PORT_BASE+1.., their admin on PORT_BASE+11..

LOG_TAG=access-log
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=benchmarks/lib.sh
source "$SCRIPT_DIR/lib.sh"   # log, die, need, cleanup, wait_port, tree_cpu_ticks, nginx upstream
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"

command_line benchmarks/access-log.sh ROUNDS DURATION WARMUP MODES WRK_THREADS WRK_CONNS CANARYGATE_BIN CANARYGATE_THREADS
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
read -r -a MODE_LIST <<<"$MODES"
[ "${#MODE_LIST[@]}" -gt 0 ] || die "MODES is empty"
for m in "${MODE_LIST[@]}"; do [[ " off json combined " == *" $m "* ]] || die "unknown mode '$m' (allowed: off json combined)"; done
[ -x "$CANARYGATE_BIN" ] || die "Canarygate binary '$CANARYGATE_BIN' not found or not executable (swift build -c release)"
need wrk; need nginx; need curl; need ss; need awk; need getconf
CLK_TCK="$(getconf CLK_TCK)"

init_run access-log
declare -A PORT_OF=() ADMIN_OF=() PROXY_PID=()
# The proxies are stopped here (lib.sh's cleanup knows one Canarygate); the access logs are large
# (hundreds of MB at full load): never copied to KEEP_LOGS.
before_cleanup() {
    local p deadline=$(( SECONDS + 5 ))
    for p in "${PROXY_PID[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PROXY_PID[@]}"; do kill_after "$deadline" "$p" "canarygate (pid $p)"; wait "$p" 2>/dev/null || true; done
    rm -f "$TMP"/*/access.log
}
k=0
for m in "${MODE_LIST[@]}"; do
    k=$(( k + 1 ))
    PORT_OF[$m]=$(( PORT_BASE + k )); ADMIN_OF[$m]=$(( PORT_BASE + 10 + k ))
done
for p in "$PORT_PRIMARY" "$PORT_CANARY" "${PORT_OF[@]}" "${ADMIN_OF[@]}"; do
    [ -z "$(ss -Hltn "sport = :$p")" ] || die "port $p is in use (a leftover run?); stop that process first"
done

start_nginx

# start_proxy MODE : a Canarygate on PORT_OF[MODE] with the access log MODE (or none for off).
start_proxy() {
    local m="$1" dir="$TMP/$1"
    mkdir -p "$dir"
    cat >"$dir/canarygate.yaml" <<YAML
admin: { address: 127.0.0.1:${ADMIN_OF[$m]} }
listeners: [ { name: http, address: 127.0.0.1:${PORT_OF[$m]} } ]
routes:
  - name: bench
    primary: { revision: v1, endpoints: ["127.0.0.1:$PORT_PRIMARY"] }
    canary:  { revision: v2, endpoints: ["127.0.0.1:$PORT_CANARY"], weight: 20 }
YAML
    [ "$m" = off ] || echo "accessLog: { path: \"$dir/access.log\", format: $m }" >>"$dir/canarygate.yaml"
    log "starting canarygate ($m) on :${PORT_OF[$m]} (--threads $CANARYGATE_THREADS)"
    "$CANARYGATE_BIN" run --config "$dir/canarygate.yaml" --threads "$CANARYGATE_THREADS" >"$dir/canarygate.log" 2>&1 &
    PROXY_PID[$m]=$!
    wait_port "${PROXY_PID[$m]}" "${PORT_OF[$m]}" "canarygate ($m)" "$dir/canarygate.log"
    wait_port "${PROXY_PID[$m]}" "${ADMIN_OF[$m]}" "canarygate ($m) admin" "$dir/canarygate.log"
}
for m in "${MODE_LIST[@]}"; do start_proxy "$m"; done

# metric MODE NAME : the value of an unlabelled sample in the proxy's /metrics (0 when absent).
metric() {
    curl -sS --max-time 5 "http://127.0.0.1:${ADMIN_OF[$1]}/metrics" | awk -v n="$2" '$1 == n { v = $2 } END { print v + 0 }'
}

# Sanity: 200 answers, and a line per request in the modes that log.
for m in "${MODE_LIST[@]}"; do
    urls=(); for i in $(seq 1 100); do urls+=("http://127.0.0.1:${PORT_OF[$m]}/sanity"); done
    curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' "${urls[@]}" >"$TMP/sanity-$m.txt" || die "$m: sanity requests failed"
    [ "$(grep -c '^200$' "$TMP/sanity-$m.txt")" -eq 100 ] || die "$m: not every sanity request answered 200"
    if [ "$m" != off ]; then
        for i in $(seq 1 50); do [ "$(metric "$m" canarygate_access_log_written_total)" -ge 100 ] && break; sleep 0.1; done
        [ "$(metric "$m" canarygate_access_log_written_total)" -ge 100 ] || die "$m: the sanity requests were not logged"
        log "sanity $m: 100/100 answered 200 and logged; first line: $(head -c 300 "$TMP/$m/access.log" | head -1)"
    else
        log "sanity $m: 100/100 answered 200"
    fi
done

# wrk_round MODE TAG DURATION -> WRK_RES="rps requests cpu_us_per_req non2xx user_us_per_req sys_us_per_req"
WRK_RES=""
wrk_round() {
    local m="$1" out="$TMP/wrk-$2-$1.txt" u0 s0 u1 s1
    read -r u0 s0 <<<"$(tree_cpu_split "${PROXY_PID[$m]}")"
    bg_run "$out" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$3" "http://127.0.0.1:${PORT_OF[$m]}/" \
        || { cat "$out" >&2; die "wrk against $m failed"; }
    read -r u1 s1 <<<"$(tree_cpu_split "${PROXY_PID[$m]}")"
    kill -0 "${PROXY_PID[$m]}" 2>/dev/null || die "canarygate ($m) died during the wrk run"
    WRK_RES="$(awk -v u="$(( u1 - u0 ))" -v s="$(( s1 - s0 ))" -v hz="$CLK_TCK" '
        /requests in/     { req = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /Non-2xx or 3xx/  { non2xx = $NF }
        END {
            k = (req > 0) ? 1000000 / hz / req : 0
            printf "%.0f %d %.2f %d %.2f %.2f\n", rps, req, (u + s) * k, non2xx + 0, u * k, s * k
        }' "$out")"
}

if [ "$WARMUP" != "0" ]; then
    for m in "${MODE_LIST[@]}"; do log "warm-up $m ($WARMUP)"; wrk_round "$m" warmup "$WARMUP"; done
fi

RESULTS="$TMP/rounds.tsv"   # mode round rps requests cpu_us non2xx user_us sys_us
: >"$RESULTS"
n="${#MODE_LIST[@]}"
for r in $(seq 1 "$ROUNDS"); do
    for j in $(seq 0 $(( n - 1 ))); do
        m="${MODE_LIST[$(( (j + r - 1) % n ))]}"
        wrk_round "$m" "r$r" "$DURATION"
        echo "$m $r $WRK_RES" >>"$RESULTS"
        read -r rps req cpu non2xx user sys <<<"$WRK_RES"
        log "round $r/$ROUNDS $m: $rps req/s, $cpu CPU µs/req (user $user, system $sys), non-2xx $non2xx"
    done
done

# median MODE COLUMN (3 = rps, 5 = cpu µs/req, 7 = user µs/req, 8 = system µs/req)
median() {
    awk -v m="$1" -v c="$2" '$1 == m { print $c }' "$RESULTS" | sort -n \
        | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "Command: \`$CMDLINE\` ($(date -u '+%Y-%m-%d %H:%M UTC'); $(uname -srm), nproc $(nproc); binary $CANARYGATE_BIN $(sha256sum "$CANARYGATE_BIN" | cut -c1-12); wrk -t$WRK_THREADS -c$WRK_CONNS -d$DURATION, $ROUNDS alternating rounds, medians)"
echo
echo "| access log | req/s | CPU µs/request | user / system µs | req/s vs off | CPU/request vs off | user vs off | lines written | lines dropped | non-2xx |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
base_rps=""; base_cpu=""; base_user=""
if [[ " ${MODE_LIST[*]} " == *" off "* ]]; then base_rps="$(median off 3)"; base_cpu="$(median off 5)"; base_user="$(median off 7)"; fi
for m in "${MODE_LIST[@]}"; do
    rps="$(median "$m" 3)"; cpu="$(median "$m" 5)"; user="$(median "$m" 7)"; sys="$(median "$m" 8)"
    bad="$(awk -v m="$m" '$1 == m { s += $6 } END { print s + 0 }' "$RESULTS")"
    ratio_rps="–"; ratio_cpu="–"; ratio_user="–"
    if [ -n "$base_rps" ]; then
        ratio_rps="$(awk -v a="$rps" -v b="$base_rps" 'BEGIN { printf "%.3f", a / b }')"
        ratio_cpu="$(awk -v a="$cpu" -v b="$base_cpu" 'BEGIN { printf "%.3f", a / b }')"
        ratio_user="$(awk -v a="$user" -v b="$base_user" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')"
    fi
    written="–"; dropped="–"
    if [ "$m" != off ]; then
        sleep 0.2   # the writer's last round
        written="$(metric "$m" canarygate_access_log_written_total)"; dropped="$(metric "$m" canarygate_access_log_dropped_total)"
    fi
    echo "| $m | $rps | $cpu | $user / $sys | $ratio_rps | $ratio_cpu | $ratio_user | $written | $dropped | $bad |"
done
