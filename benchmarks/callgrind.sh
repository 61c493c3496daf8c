#!/usr/bin/env bash
# Purpose: count the user-space instructions (callgrind Ir) Canarygate spends on 20,000 HTTP/1.1 requests and on 20,000 h2c streams through one loop, per binary given: all threads, and the loop thread alone.
#
# Usage (from anywhere; relative paths are relative to the repository root):
#   benchmarks/callgrind.sh                                      # .build/release/canarygate, h1 and h2c
#   benchmarks/callgrind.sh /tmp/base/canarygate .build/release/canarygate   # before / after
#   PROTOCOLS=h2c benchmarks/callgrind.sh                        # one protocol only
#   PROTOCOLS=h1close benchmarks/callgrind.sh                    # connection churn: Connection: close on every request
#   REQUESTS=5000 KEEP_LOGS=/tmp/cg benchmarks/callgrind.sh      # keep the per-thread callgrind.out-NN files
#   CONFIG_EXTRA='tracing: { armHeader: true }' benchmarks/callgrind.sh   # a top-level section added to the config
# Progress on stderr; one markdown table row per binary and protocol on stdout. See benchmarks/README.md.
set -euo pipefail

PROTOCOLS="${PROTOCOLS:-h1 h2c}"    # h1 = HTTP/1.1 (h2load --h1); h1close = h1 with a new connection per request; h2c = HTTP/2 with prior knowledge
REQUESTS="${REQUESTS:-20000}"       # h2load -n: requests (h1) or streams (h2c)
CLIENTS="${CLIENTS:-4}"             # h2load -c
H2C_STREAMS="${H2C_STREAMS:-10}"    # h2load -m for h2c: streams in flight per connection (h1 is always -m1: no pipelining)
KEEP_LOGS="${KEEP_LOGS:-}"          # if set to a directory, configs, logs and callgrind.out files are copied there
CONFIG_EXTRA="${CONFIG_EXTRA:-}"    # YAML appended to the config's top level, e.g. 'tracing: { armHeader: true }'
ACCESS_LOG="${ACCESS_LOG:-}"        # json | combined: the proxy runs with `accessLog:` in that format; unset: without one
CANARYGATE_THREADS=1

LOG_TAG=callgrind
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=benchmarks/lib.sh
source "$SCRIPT_DIR/lib.sh"   # log, die, need, cleanup, wait_port, nginx upstream
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
cd "$REPO_ROOT"

[[ "$REQUESTS" =~ ^[1-9][0-9]*$ ]] || die "REQUESTS must be a positive integer (got '$REQUESTS')"
[[ "$CLIENTS" =~ ^[1-9][0-9]*$ ]] || die "CLIENTS must be a positive integer (got '$CLIENTS')"
[[ "$H2C_STREAMS" =~ ^[1-9][0-9]*$ ]] || die "H2C_STREAMS must be a positive integer (got '$H2C_STREAMS')"
[ "$REQUESTS" -gt "$CLIENTS" ] || die "REQUESTS must be more than CLIENTS"
read -r -a PROTOCOL_LIST <<<"$PROTOCOLS"
[ "${#PROTOCOL_LIST[@]}" -gt 0 ] || die "PROTOCOLS is empty"
for p in "${PROTOCOL_LIST[@]}"; do [[ "$p" =~ ^(h1|h1close|h2c)$ ]] || die "unknown protocol '$p' (allowed: h1 h1close h2c)"; done
[ -z "$ACCESS_LOG" ] || [ "$ACCESS_LOG" = json ] || [ "$ACCESS_LOG" = combined ] || die "ACCESS_LOG must be json or combined (got '$ACCESS_LOG')"
BINS=("$@")
[ "${#BINS[@]}" -gt 0 ] || BINS=(.build/release/canarygate)
for b in "${BINS[@]}"; do [ -x "$b" ] || die "Canarygate binary '$b' not found or not executable (swift build -c release)"; done
need valgrind; need callgrind_annotate; need objcopy; need h2load; need nginx; need ss; need awk

# free_port : sets PORT to a loopback port no socket uses (and not one already handed out by this run), below the kernel's
# ephemeral range, so no outgoing connection (h2load's, the proxy's to nginx) can take it meanwhile.
USED_PORTS=" "
EPHEMERAL_LOW="$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)"
free_port() {
    local p i span=$(( EPHEMERAL_LOW - 10000 ))
    [ "$span" -gt 100 ] || die "ephemeral port range starts too low ($EPHEMERAL_LOW)"
    for i in $(seq 1 200); do
        p=$(( 10000 + (RANDOM * 32768 + RANDOM) % span ))
        [[ "$USED_PORTS" == *" $p "* ]] && continue
        if [ -z "$(ss -Htan "sport = :$p")" ]; then USED_PORTS+="$p "; PORT="$p"; return 0; fi
    done
    die "no free loopback port found"
}

init_run callgrind
free_port; PORT_PRIMARY="$PORT"; free_port; PORT_CANARY="$PORT"
start_nginx

# Wait up to 60 s for 127.0.0.1:$2 (valgrind starts a Swift binary far slower than wait_port's 10 s).
wait_port_slow() {
    local pid="$1" port="$2" logf="$3" i
    for i in $(seq 1 600); do
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$logf" >&2 || true; die "canarygate under valgrind exited during startup (log above)"; }
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    tail -n 30 "$logf" >&2 || true
    die "canarygate under valgrind did not listen on 127.0.0.1:$port within 60 s"
}

# load_args PROTOCOL N : sets LOAD to h2load's options for N requests (h1) or streams (h2c). Both go to
# the same listener (HTTP/2 is on by default): without --h1, h2load speaks h2c with prior knowledge.
LOAD=()
load_args() {
    case "$1" in
        h1)  LOAD=(--h1 -n "$2" -c"$CLIENTS" -m1) ;;
        # Connection churn: each request on a new connection (h2load reconnects after the close).
        h1close) LOAD=(--h1 -n "$2" -c"$CLIENTS" -m1 -H 'Connection: close') ;;
        h2c) LOAD=(-n "$2" -c"$CLIENTS" -m"$H2C_STREAMS") ;;
    esac
}

# run_once TAG BINARY PROTOCOL N : one run under callgrind with N requests; sets IR (instructions of
# every thread), LOOP_IR (the loop thread's) and FAILED.
IR=""; LOOP_IR=""; FAILED=""
run_once() {
    local k="$1" bin="$2" proto="$3" n="$4" dir="$TMP/run$1" port admin pid out rc=0 ir ok failed
    mkdir -p "$dir"
    free_port; port="$PORT"; free_port; admin="$PORT"
    cat >"$dir/canarygate.yaml" <<EOF
admin: { address: 127.0.0.1:$admin }
listeners: [ { name: http, address: 127.0.0.1:$port } ]
routes:
  - name: bench
    primary: { revision: v1, endpoints: ["127.0.0.1:$PORT_PRIMARY"] }
    canary:  { revision: v2, endpoints: ["127.0.0.1:$PORT_CANARY"], weight: 20 }
EOF
    [ -z "$CONFIG_EXTRA" ] || printf '%s\n' "$CONFIG_EXTRA" >>"$dir/canarygate.yaml"
    [ -z "$ACCESS_LOG" ] || echo "accessLog: { path: \"$dir/access.log\", format: $ACCESS_LOG }" >>"$dir/canarygate.yaml"
    out="$dir/callgrind.out"
    # Valgrind 3.19 gives up on the DWARF 5 debug info the Swift toolchain writes ("unhandled dwarf2
    # abbrev form code 0x25"): run a copy without it. The symbol table stays, so functions keep their names.
    objcopy --strip-debug "$bin" "$dir/canarygate" || die "objcopy --strip-debug $bin failed"
    log "[$k] $bin (debug info stripped) under callgrind on :$port (--threads $CANARYGATE_THREADS)"
    # One file per thread ("$out-01", "$out-02", ...): the loop thread's count leaves out the control
    # thread, whose 100 ms metrics snapshot costs instructions by wall time, not by request.
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out" \
        "$dir/canarygate" run --config "$dir/canarygate.yaml" --threads "$CANARYGATE_THREADS" >"$dir/canarygate.log" 2>&1 &
    pid=$!; PID_OF[canarygate]="$pid"
    wait_port_slow "$pid" "$port" "$dir/canarygate.log"
    load_args "$proto" "$n"
    log "[$k] h2load ${LOAD[*]}"
    bg_run "$dir/h2load.txt" h2load "${LOAD[@]}" "http://127.0.0.1:$port/" \
        || { cat "$dir/h2load.txt" >&2; die "h2load against $bin failed"; }
    # "requests: N total, N started, N done, N succeeded, N failed, ..." ; "status codes: N 2xx, ..."
    ok="$(awk '/^status codes:/ { print $3 + 0 }' "$dir/h2load.txt")"
    failed="$(awk '/^requests:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) print $i + 0 }' "$dir/h2load.txt")"
    [ "${ok:-0}" -eq "$n" ] || { cat "$dir/h2load.txt" >&2; die "$bin: ${ok:-0}/$n answered 2xx"; }
    # Graceful stop: SIGINT drains (no connection is left open) and callgrind writes its file at exit.
    log "[$k] SIGINT, waiting for the drain and callgrind's dump"
    kill -INT "$pid"
    local deadline=$(( SECONDS + 60 ))
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        log "[$k] still running after 60 s; SIGTERM"
        kill -TERM "$pid" 2>/dev/null || true
    fi
    wait "$pid" || rc=$?
    PID_OF[canarygate]=""
    [ "$rc" -eq 0 ] || log "[$k] canarygate exited with status $rc (see $dir/canarygate.log)"
    # Each file's "totals:" (or "summary:") line: the first event is Ir. The loop thread is the one
    # that ran EventLoop.run() (mangled: $s9EventLoopAAC3runyyF; the admin loop has its own).
    local f t loop="" total=0
    for f in "$out"-[0-9]*; do
        [ -s "$f" ] || continue
        t="$(awk '/^(totals|summary):/ { v = $2 } END { print v }' "$f")"
        [ -n "$t" ] || die "$bin: no instruction total in $f"
        total=$(( total + t ))
        if grep -q 's9EventLoopAAC3runyyF' "$f"; then
            [ -z "$loop" ] || die "$bin: two threads ran EventLoop.run ($f)"
            loop="$t"
            callgrind_annotate "$f" >"$dir/annotate-loop.txt" 2>/dev/null || true
        fi
    done
    [ "$total" -gt 0 ] || die "$bin: callgrind wrote no $out-NN files"
    [ -n "$loop" ] || die "$bin: no thread of $out ran EventLoop.run"
    log "[$k] $total instructions, $loop in the loop thread"
    IR="$total"; LOOP_IR="$loop"; FAILED="${failed:-0}"
}

# measure INDEX BINARY PROTOCOL : the fixed run (CLIENTS requests: startup, config, connections,
# shutdown) and the full run; prints the markdown row.
measure() {
    local k="$1" bin="$2" proto="$3" fixed loop_fixed f1
    run_once "$k-$proto-fixed" "$bin" "$proto" "$CLIENTS"; fixed="$IR"; loop_fixed="$LOOP_IR"; f1="$FAILED"
    run_once "$k-$proto" "$bin" "$proto" "$REQUESTS"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$bin" "$(sha_of "$bin")" "$proto" "$REQUESTS" \
        "$(millions "$IR")" "$(millions "$fixed")" "$(per_request "$IR" "$fixed")" \
        "$(millions "$LOOP_IR")" "$(per_request "$LOOP_IR" "$loop_fixed")" "$(( f1 + FAILED ))"
}

millions() { awk -v x="$1" 'BEGIN { printf "%.1fM", x / 1e6 }'; }
# per_request TOTAL FIXED : what the REQUESTS − CLIENTS requests beyond the fixed run cost each.
per_request() { awk -v x="$1" -v f="$2" -v n="$REQUESTS" -v c="$CLIENTS" 'BEGIN { printf "%.0f", (x - f) / (n - c) }'; }

# The first 12 hex digits of the file's sha256, to tell the rows apart when two paths hold the same name.
sha_of() { sha256sum "$1" | cut -c1-12; }

command_line benchmarks/callgrind.sh PROTOCOLS REQUESTS CLIENTS H2C_STREAMS CONFIG_EXTRA ACCESS_LOG
LOADS=""
for p in "${PROTOCOL_LIST[@]}"; do load_args "$p" "$REQUESTS"; LOADS+="$p: h2load ${LOAD[*]}; "; done
echo "Command: \`$CMDLINE${*:+ $*}\` ($(date -u '+%Y-%m-%d %H:%M UTC'); $(valgrind --version); $LOADS--threads 1; nginx upstream pair, canary weight 20)"
echo
echo "| binary | sha256 | protocol | requests | Ir, all threads | fixed ($CLIENTS requests) | (all − fixed) / request | Ir, loop thread | **(loop − its fixed) / request** | h2load failed |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
k=0
for b in "${BINS[@]}"; do
    k=$(( k + 1 ))
    for p in "${PROTOCOL_LIST[@]}"; do measure "$k" "$b" "$p"; done
done
