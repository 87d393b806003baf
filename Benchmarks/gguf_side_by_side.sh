#!/usr/bin/env bash
# The same GGUF file through llama.cpp's llama-bench and `qwenkit bench`, back to back, 2 threads: prefill of
# PROMPT tokens and decode of GEN tokens, and with DEPTH > 0 decode after a DEPTH-token context too. Release
# build; run on a quiet machine (the DRAM probe each qwenkit run prints is the ceiling to judge decode by).
#
#   LLAMA_BENCH=/root/llama.cpp/build/bin/llama-bench Benchmarks/gguf_side_by_side.sh FILE.gguf [PROMPT=512] [GEN=64] [DEPTH=0]
set -euo pipefail
cd "$(dirname "$0")/.."
gguf=${1:?a .gguf file}; prompt=${2:-512}; gen=${3:-64}; depth=${4:-0}
lb=${LLAMA_BENCH:?path to llama-bench}
qk=${QWENKIT:-.build/release/qwenkit}
summary() { python3 -c '
import sys, json
for line in sys.stdin:
    d = json.loads(line)
    print("llama.cpp  pp%d tg%d depth %d: %.2f tok/s" % (d["n_prompt"], d["n_gen"], d["n_depth"], d["avg_ts"]))'; }
depths=0; [ "$depth" -gt 0 ] && depths="0,$depth"
"$lb" -m "$gguf" -p 0 -n "$gen" -d "$depths" -t 2 -r 2 -o jsonl 2>/dev/null | summary
"$lb" -m "$gguf" -p "$prompt" -n 0 -t 2 -r 2 -o jsonl 2>/dev/null | summary
"$qk" bench --model "$gguf" --prompt "$prompt" --gen "$gen" --runs 2 --threads 2 | sed 's/^/qwenkit    /'
if [ "$depth" -gt 0 ]; then
  "$qk" bench --model "$gguf" --prompt "$depth" --gen "$gen" --runs 1 --threads 2 | grep -E "prefill|decode" | sed "s/^/qwenkit    depth $depth: /"
fi
