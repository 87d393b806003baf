#!/usr/bin/env bash
# Runs one fuzz target: Fuzz/run.sh TARGET [--seconds N | --runs N] [extra libFuzzer flags]
# Builds it if needed, seeds its corpus (Fuzz/.corpus/TARGET) from the fixtures on first use, uses
# Fuzz/Dictionaries/TARGET.dict, and runs under `nice -n 10` (the machine is shared). Crashes, timeouts and
# out-of-memory inputs land in Fuzz/.artifacts/TARGET/; turn each into a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: Fuzz/run.sh TARGET [--seconds N | --runs N]}
shift
limit=(-max_total_time=60)
case ${1:-} in
--seconds) limit=(-max_total_time="$2"); shift 2 ;;
--runs) limit=(-runs="$2"); shift 2 ;;
esac
[[ -d Fuzz/Targets/$target ]] || { echo "unknown target $target (have: $(ls Fuzz/Targets | tr '\n' ' '))" >&2; exit 2; }
[[ -n ${FUZZ_NO_BUILD:-} ]] || Fuzz/build.sh "$target"   # FUZZ_NO_BUILD=1: run the binary as it is
corpus=Fuzz/.corpus/$target
artifacts=Fuzz/.artifacts/$target
mkdir -p "$corpus" "$artifacts"
[[ -n "$(ls -A "$corpus")" ]] || python3 Fuzz/seed.py "$target" "$corpus"
dict=()
[[ -f Fuzz/Dictionaries/$target.dict ]] && dict=(-dict=Fuzz/Dictionaries/$target.dict)
# Inputs up to 64 KiB (the tokenizer and safetensors seeds need it); 10 s per input and 2 GiB RSS are
# failures to report: a parser must answer quickly in bounded memory whatever it is given. libFuzzer's timeout
# is wall time: on a loaded machine a niced run can wait longer than that for the CPU (a reply-parser input that
# runs in milliseconds was reported after 111 s at load 17), so FUZZ_TIMEOUT=N raises it there; replay a
# timeout artifact alone (`Fuzz/.build/TARGET FILE`) before believing it.
max_len=4096
case $target in tokenizer|safetensors|jinja|chat-json|gguf) max_len=65536 ;; esac
# ASan's own allocation cap is the useful memory check (libFuzzer's -rss_limit counts ASan's shadow too).
# Swift allocates often, so ASan's per-allocation costs dominated the jinja target (115 → 260 exec/s without
# them): no stack trace recorded per malloc (malloc_context_size=0; an ASan report then lacks the allocation
# stack: replay the artifact with ASAN_OPTIONS unset to get it), a 16 MiB free quarantine (fewer fresh pages to
# fault in), no fill of new blocks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=0:max_allocation_size_mb=2048:malloc_context_size=0:quarantine_size_mb=16:max_malloc_fill_size=0}
exec nice -n 10 "Fuzz/.build/$target" "${limit[@]}" "${dict[@]}" -max_len=$max_len -timeout=${FUZZ_TIMEOUT:-10} -rss_limit_mb=4096 \
    -malloc_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" "$corpus"
