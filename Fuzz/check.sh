#!/usr/bin/env bash
# CI check: every fuzz target builds (unoptimised, so it is quick) and runs its seed corpus without a finding.
# No fuzzing happens here; long runs are Fuzz/run.sh's job and stay out of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_OUT=${FUZZ_OUT:-Fuzz/.build-check} FUZZ_OPT=-Onone
Fuzz/build.sh
export ASAN_OPTIONS=detect_leaks=0:max_allocation_size_mb=2048
for t in $(ls Fuzz/Targets); do
    seeds=$(mktemp -d)
    python3 Fuzz/seed.py "$t" "$seeds"
    "$FUZZ_OUT/$t" -runs=0 -timeout=20 -rss_limit_mb=4096 "$seeds" 2>&1 | tail -1
    rm -rf "$seeds"
done
echo "fuzz check: all $(ls Fuzz/Targets | wc -l) targets build and pass their seeds"
