#!/usr/bin/env bash
# One rollout as a new user would try it: two identical python http.server backends, wrk load, the release binary.
# Usage: benchmarks/new-user-rollout.sh   (env: MAXW=50, INTERVAL=2s, CONNS=8, SECS=150; ports 9101/9102/9180/9190)
set -u
binary="$(cd "$(dirname "$0")/.." && pwd)/.build/release/canarygate"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/www" && echo hello > "$work/www/index.html"
cd "$work"
(cd www && exec python3 -m http.server 9101 --bind 127.0.0.1 >/dev/null 2>&1) & B1=$!
(cd www && exec python3 -m http.server 9102 --bind 127.0.0.1 >/dev/null 2>&1) & B2=$!
cat > cfg.yaml <<YAML
admin: { address: "127.0.0.1:9190" }
listeners: [ { name: web, address: "127.0.0.1:9180" } ]
state: { path: $work/state.json }
routes:
  - name: web
    primary: { revision: v1, endpoints: ["127.0.0.1:9101"] }
    canary:  { revision: v2, endpoints: ["127.0.0.1:9102"] }
    analysis:
      interval: ${INTERVAL:-2s}
      threshold: 2
      stepWeight: 10
      maxWeight: ${MAXW:-50}
      progressDeadline: 120s
YAML
"$binary" run --config cfg.yaml > proxy.log 2>&1 & P=$!
sleep 1
wrk -t1 -c${CONNS:-8} -d${SECS:-150}s http://127.0.0.1:9180/index.html > wrk.log 2>&1 & W=$!
start=$(date +%s)
phase=""
while [ $(( $(date +%s) - start )) -lt ${SECS:-150} ]; do
  phase=$(curl -s 127.0.0.1:9190/status | python3 -c 'import json,sys; r=json.load(sys.stdin)["routes"][0]["rollout"]; print(r["phase"], r["canaryWeight"])')
  case "$phase" in Promoted*|Succeeded*|Failed*) break;; esac
  sleep 1
done
echo "result after $(( $(date +%s) - start )) s: $phase"
curl -s 127.0.0.1:9190/status | python3 -c 'import json,sys; r=json.load(sys.stdin)["routes"][0]; print(r["rollout"]["message"]); [print("  ", v["judge"], v["outcome"], v["summary"][:200]) for v in r["rollout"]["lastVerdicts"]]'
grep -c "advance canary weight" proxy.log | sed 's/^/steps: /'
curl -s 127.0.0.1:9190/metrics | grep -E "^canarygate_upstream_failures_total" | grep -v " 0$"
kill $W 2>/dev/null; kill -INT $P; wait $P 2>/dev/null; kill $B1 $B2; wait 2>/dev/null
tail -4 wrk.log | head -2
