#!/usr/bin/env bash
# Side-by-side decode/prefill benchmark: QwenKit (release build) and, when LLAMA_BENCH and GGUF are given,
# llama.cpp's llama-bench on the same model, same machine, same run. Also probes DRAM read bandwidth so
# the decode figure can be set against the machine's ceiling (bytes of weights read per token ÷ bandwidth).
#
#   Benchmarks/compare.sh MODEL_DIR [PROMPT=512] [GEN=128] [THREADS=2]
#   LLAMA_BENCH=/path/to/llama-bench GGUF=/path/to/model-bf16.gguf Benchmarks/compare.sh MODEL_DIR
#
# Models with the real Qwen3.5 geometry: python3 shared/tools/make_bench_models.py --out DIR (outside the repo).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?model directory}; prompt=${2:-512}; gen=${3:-128}; threads=${4:-2}

swift build -c release --product qwenkit >/dev/null
bin=.build/release/qwenkit
echo "== QwenKit"
$bin bench --model "$model" --prompt "$prompt" --gen "$gen" --threads "$threads" --json
if [ -n "${LLAMA_BENCH:-}" ] && [ -n "${GGUF:-}" ]; then
  echo "== llama.cpp"
  "$LLAMA_BENCH" -m "$GGUF" -p "$prompt" -n "$gen" -t "$threads" -r 3 -o md
fi
