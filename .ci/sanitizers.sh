#!/usr/bin/env bash
# Builds everything under AddressSanitizer or ThreadSanitizer and runs the unit tests plus the multi-loop,
# reload, drain and rollout integration tests (the proxy binary they start is built with the same sanitizer).
#
#   .ci/sanitizers.sh asan|tsan [extra swift test --filter patterns...]
#
# Not part of .ci/run: build and tests take ~4 minutes per sanitizer on an idle 2-core machine. Exit 0 when the tests pass and no
# sanitizer reported anything, in the test process or in any proxy or helper it started.
set -euo pipefail
cd "$(dirname "$0")/.."

extra=()
case ${1:-} in
    asan) sanitizer=address ;;
    tsan) sanitizer=thread
        # Swift 6.3 with -sanitize=thread reports a "sending risks data races" error in Server.swift that the
        # plain and ASan builds do not (the same code, analysed differently); language mode 5 makes it a warning.
        extra=(-Xswiftc -swift-version -Xswiftc 5) ;;
    *) echo "usage: .ci/sanitizers.sh asan|tsan [filter...]" >&2; exit 2 ;;
esac
kind=$1
shift
# A scratch path per sanitizer, so neither build invalidates the other nor the plain .build.
scratch=.build-$kind
reports=$(mktemp -d "${TMPDIR:-/tmp}/canarygate-$kind.XXXXXX")

filters=("$@")
if [ ${#filters[@]} -eq 0 ]; then
    filters=(
        # Unit tests of everything that runs on more than one thread or owns raw memory.
        '^HTTPTests\.' '^HTTP2Tests\.' '^TLSTests\.' '^ConfigTests\.' '^TelemetryTests\.' '^ProxyTests\.' '^RolloutTests\.'
        # The real binary with several loops: hand-over between loops, reloads, drains, rollouts, aborts.
        'Integration/AcceptBalance/' 'Integration/Reload/' 'Integration/HTTP2ReloadTests/' 'Integration/Drain/'
        'Integration/RolloutEndToEnd/' 'Integration/ClientAborts/'
    )
fi
filter_args=()
for f in "${filters[@]}"; do filter_args+=(--filter "$f"); done

# Reports go to files (one per process: the test runner, each canarygate, each helper) rather than into
# the proxy logs the harness may discard. Leak checking is off: Swift's runtime keeps its metadata and
# conformance caches, and the tests their process-lifetime fixtures, until exit by design.
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=0"
# TSan sleeps a second at exit by default (atexit_sleep_ms) to catch late races, which would fail the drain
# tests' "exits at once" bounds; the proxy's threads are stopped or abandoned by then anyway.
export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=0:second_deadlock_stack=1:atexit_sleep_ms=0:suppressions=$PWD/.ci/tsan.supp"

start=$(date +%s)
swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch" ${extra[@]+"${extra[@]}"}
built=$(date +%s)
status=0
swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" ${extra[@]+"${extra[@]}"} "${filter_args[@]}" || status=$?
finished=$(date +%s)

echo "== $kind: build $((built - start))s, tests $((finished - built))s, swift test exit $status"
if compgen -G "$reports/*" > /dev/null; then
    echo "== $kind: sanitizer reports in $reports:"
    for f in "$reports"/*; do echo "--- $f"; head -n 60 "$f"; done
    exit 1
fi
rm -rf "$reports"
exit "$status"
