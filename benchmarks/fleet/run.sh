#!/usr/bin/env bash
# Purpose: fleet mode's coordination cost (issue 16): etcd traffic per replica, N = 3 and 50 replicas on one etcd, hard failure → weight 0 on all, failover.
#
#   swift build -c release --product canarygate
#   benchmarks/fleet/run.sh > /tmp/fleet.md        # progress on stderr, report (markdown) on stdout
#
# Knobs (environment): REPLICAS (50), SMALL_REPLICAS (3; 0 = skip), IDLE_WINDOW (10, seconds without load at
# N = REPLICAS; 0 = skip), WINDOW (30, seconds of steady load per cost measurement), REPEATS (3, hard failures),
# RATE (10 req/s through each replica), FAIL_RATE (100 req/s through the replica whose canary dies), FAILOVER
# (1: rounds of leader failover, each a SIGTERM then a kill -9 of the leader; 0 = skip), POLL_CONCURRENCY (8), ETCD_DIR_ROOT (/dev/shm: etcd's data dir there when
# writable), CANARYGATE_BIN (.build/release/canarygate), KEEP_LOGS (a directory to copy configs and logs into).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOG_TAG=fleet
# shellcheck source=../lib.sh
source "$REPO_ROOT/benchmarks/lib.sh"

command_line benchmarks/fleet/run.sh REPLICAS SMALL_REPLICAS IDLE_WINDOW WINDOW REPEATS RATE FAIL_RATE FAILOVER POLL_CONCURRENCY ETCD_DIR_ROOT
CANARYGATE_BIN="${CANARYGATE_BIN:-$REPO_ROOT/.build/release/canarygate}"
KEEP_LOGS="${KEEP_LOGS:-}"
export CANARYGATE_BIN REPLICAS="${REPLICAS:-50}"

for tool in python3 nginx /usr/bin/etcd; do need "$tool"; done
[ -x "$CANARYGATE_BIN" ] || die "Canarygate binary '$CANARYGATE_BIN' not found (swift build -c release --product canarygate, or set CANARYGATE_BIN)"
# 2 descriptors per replica here (admin polls, load) and nginx's: a 50-replica fleet needs a few hundred.
ulimit -n 8192 2>/dev/null || true

init_run fleet
export FLEET_TMP="$TMP"
: >"$TMP/pids"

# lib.sh's cleanup stops PID_OF / HELPER_PIDS; this stops what the driver started (listed in $TMP/pids), even
# if the driver died, and removes etcd's data dir (kept outside $TMP when on /dev/shm).
before_cleanup() {
    local pid name deadline
    [ -n "${DRIVER_PID:-}" ] && kill -TERM "$DRIVER_PID" 2>/dev/null && wait "$DRIVER_PID" 2>/dev/null
    while read -r pid name comm; do
        # Only a process of ours: the pid must still run the program we started (not reused by another).
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
            log "stopping $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done <"$TMP/pids"
    deadline=$(( SECONDS + 5 ))
    while read -r pid name comm; do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] && kill_after "$deadline" "$pid" "$name (pid $pid)"
    done <"$TMP/pids"
    if [ -s "$TMP/etcd-data-dir" ]; then rm -rf "$(cat "$TMP/etcd-data-dir")"; fi
}

CG_VERSION="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$REPO_ROOT" diff --quiet HEAD -- Sources 2>/dev/null || CG_VERSION+=" (+uncommitted changes in Sources)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 "$REPO_ROOT/benchmarks/fleet/fleet.py" >"$TMP/report.md" &
DRIVER_PID=$!
wait "$DRIVER_PID"
DRIVER_PID=""

echo "Command: \`$CMDLINE\`"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); host: $(uname -srm); \`nproc\` = $(nproc); CPU: $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo); memory $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "- Canarygate: $CANARYGATE_BIN @ $CG_VERSION; load average before the run: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$TMP/report.md"
