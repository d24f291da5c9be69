#!/usr/bin/env bash
# `rangepilot-plan analyze` against `wc -l` on the same generated trace of about 1 GB, both read
# from the page cache, best of three runs each, in the same run of this script.
#
#   bench/analyze_vs_wc.sh [BUILD_DIR] [SIZE_MB]     (defaults: build/release, 1000)
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build/release}
size_mb=${2:-1000}
plan="$build/app/rangepilot-plan"
[ -x "$plan" ] || { echo "no $plan: build the release preset first" >&2; exit 1; }

# ~43 bytes per event at the generator's line shape: choose the rate that gives SIZE_MB in 48 h.
rate=$(( size_mb * 1000000 / 43 / (48 * 3600) ))
trace="$build/bench-data/diurnal-${size_mb}mb.csv"
mkdir -p "$(dirname "$trace")"
if [ ! -s "$trace" ]; then
    echo "generating $trace (48 h at $rate events/s)..." >&2
    "$plan" generate --scenario diurnal --hours 48 --rate "$rate" --seed 7 --out "$trace"
fi
bytes=$(stat -c %s "$trace")
cat "$trace" > /dev/null # warm the page cache for both contenders

best() { # best wall time in seconds of three runs of the command
    local best_time=""
    for _ in 1 2 3; do
        local start end elapsed
        start=$(date +%s.%N)
        "$@" > /dev/null
        end=$(date +%s.%N)
        elapsed=$(echo "$end - $start" | bc -l)
        if [ -z "$best_time" ] || [ "$(echo "$elapsed < $best_time" | bc -l)" = 1 ]; then
            best_time=$elapsed
        fi
    done
    echo "$best_time"
}

wc_s=$(best wc -l "$trace")
analyze_s=$(best "$plan" analyze "$trace" --json)
single_s=$(best "$plan" analyze "$trace" --json --threads 1)
lines=$(wc -l < "$trace")
printf 'trace: %s (%.0f MB, %d lines)\n' "$trace" "$(echo "$bytes / 1000000" | bc -l)" "$lines"
printf 'rangepilot-plan analyze: %6.2f s  (%6.0f MB/s, %5.1f M events/s)\n' "$analyze_s" \
    "$(echo "$bytes / 1000000 / $analyze_s" | bc -l)" "$(echo "$lines / 1000000 / $analyze_s" | bc -l)"
printf 'analyze --threads 1:     %6.2f s  (%6.0f MB/s; parallel speed-up %.2fx)\n' "$single_s" \
    "$(echo "$bytes / 1000000 / $single_s" | bc -l)" "$(echo "$single_s / $analyze_s" | bc -l)"
printf 'baseline wc -l:          %6.2f s  (%6.0f MB/s)\n' "$wc_s" "$(echo "$bytes / 1000000 / $wc_s" | bc -l)"
printf 'ratio analyze / wc -l:   %6.1fx  (target: within 4x)\n' "$(echo "$analyze_s / $wc_s" | bc -l)"
