#!/usr/bin/env bash
# Builds the libFuzzer targets (with AddressSanitizer) and runs one, or `all`, for SECONDS each against fuzz/corpus.
#
#   fuzz/run.sh TARGET SECONDS   TARGET: http1-request, http1-response, chunked, config, or all
#   fuzz/run.sh TARGET FILE      replays one input (a crash this script reported), e.g. after a fix
#
# Exit 0 when nothing was found; otherwise 1, with the path of each input that broke a target on stdout.
# Build and working corpus stay in fuzz/.build (ignored by git); fuzz/corpus keeps only the hand-written seeds.
set -euo pipefail
cd "$(dirname "$0")"

targets=(http1-request http1-response chunked config)
usage() { echo "usage: fuzz/run.sh {$(IFS='|'; echo "${targets[*]}")|all} SECONDS|FILE" >&2; exit 2; }
[ $# -eq 2 ] || usage
target=$1 budget=$2
if [ "$target" = all ]; then selected=("${targets[@]}"); else
    [[ " ${targets[*]} " == *" $target "* ]] || usage
    selected=("$target")
fi

# The Swift code gets coverage instrumentation and ASan from -sanitize; the C code (libyaml under Yams) is
# instrumented too, so the config target sees its branches.
build=(--package-path targets --scratch-path .build -Xswiftc -sanitize=fuzzer,address
       -Xcc -fsanitize=fuzzer-no-link,address)
swift build "${build[@]}" >&2
bin=$(swift build "${build[@]}" --show-bin-path)

# Longest input worth trying per target: past the 16 KiB head limit, and a config file of a few screens.
declare -A max_len=([http1-request]=20000 [http1-response]=20000 [chunked]=4096 [config]=8192)
# Swift's runtime caches (metadata, conformances) live until exit by design; LeakSanitizer would report them.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
# Swift's own crash backtracer reads raw memory, which ASan reports as a second, unrelated crash.
export SWIFT_BACKTRACE=enable=no

if [ -f "$budget" ]; then
    "$bin/$target" "$budget"
    exit
fi
[[ "$budget" =~ ^[0-9]+$ ]] || usage

found=()
for t in "${selected[@]}"; do
    work=.build/corpus/$t crashes=.build/crashes/$t
    mkdir -p "$work" "$crashes"
    echo "== $t: ${budget}s" >&2
    # New inputs go to the first directory (the working corpus); the seeds are only read.
    if ! "$bin/$t" -max_total_time="$budget" -max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$crashes/" -print_final_stats=1 "$work" "corpus/$t" 2> ".build/$t.log"; then
        tail -n 40 ".build/$t.log" >&2
        artifact=$(ls -t "$crashes"/* 2>/dev/null | head -n 1 || true)
        if [ -n "$artifact" ]; then found+=("$PWD/$artifact")
        else found+=("$t: failed without an artifact, see $PWD/.build/$t.log"); fi
    else
        grep -aE '^(stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|#[0-9]+[[:space:]]+DONE)' ".build/$t.log" >&2 || true
    fi
done
if [ ${#found[@]} -gt 0 ]; then
    printf '%s\n' "${found[@]}"
    exit 1
fi
