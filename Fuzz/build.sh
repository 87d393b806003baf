#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/Targets/<name>/main.swift) into Fuzz/.build/<name>, with
# `swiftc -sanitize=fuzzer,address`. The package's modules are compiled here from their sources, with
# coverage and ASan, so the main `swift build` / `swift test` never see these flags.
# Usage: Fuzz/build.sh [TARGET ...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
# FUZZ_OUT / FUZZ_OPT: where to build and how to optimise (Fuzz/check.sh builds -Onone elsewhere, faster;
# without -g, whose module-wrap job and -wmo -c would both write NAME.o).
OUT=${FUZZ_OUT:-Fuzz/.build}
mkdir -p "$OUT"
SWIFTC=${SWIFTC:-swiftc}
# -O keeps the runs fast; -enable-testing lets harnesses reach internal entry points (`@testable import`).
FLAGS=(-sanitize=fuzzer,address -parse-as-library ${FUZZ_OPT:--O -g} -enable-testing -I "$OUT")

# module NAME FILE... : compiles one module (object + swiftmodule) unless it is up to date: same file list
# and flags as last time, no file newer than its object, no module compiled before it (its dependencies come
# earlier in `modules`) newer either.
built=()
module() {
    local name=$1; shift
    local obj="$OUT/$name.o" stamp="$OUT/$name.args" args="${FLAGS[*]} $*"
    if [[ -f "$obj" && "$(cat "$stamp" 2>/dev/null)" == "$args" ]] \
        && [[ -z "$(find "$@" ${built[@]+"${built[@]}"} -newer "$obj" 2>/dev/null | head -1)" ]]; then
        built+=("$obj"); return
    fi
    echo "compiling module $name" >&2
    rm -f "$stamp"
    "$SWIFTC" "${FLAGS[@]}" -wmo -c -module-name "$name" -emit-module -emit-module-path "$OUT/$name.swiftmodule" "$@" -o "$obj"
    echo "$args" > "$stamp"
    built+=("$obj")
}

# The parsers and just enough of their modules to reach them: the engine's reply parser and the server's
# request readers are compiled without the model code and Hummingbird they do not use.
modules() {
    module JSON Sources/JSON/*.swift
    module Templating Sources/Templating/*.swift
    module Tokenization Sources/Tokenization/*.swift
    module TensorCore Sources/TensorCore/*.swift
    module SafeTensors Sources/SafeTensors/*.swift
    module GGUF Sources/GGUF/*.swift
    module Grammar Sources/Grammar/*.swift
    module LanguageModels Sources/LanguageModels/Qwen35/Qwen35Config.swift Sources/LanguageModels/Qwen35/Qwen35Config+Loading.swift \
        Sources/LanguageModels/Qwen35/Qwen35Config+GGUF.swift
    module InferenceEngine Sources/InferenceEngine/Reply/*.swift Sources/InferenceEngine/Generation/*.swift \
        Sources/InferenceEngine/{SamplingParameters,SequenceDecoder,StopStrings,CandidateSelection,Sampler,TokenConstraint}.swift
    module OpenAIServer Sources/OpenAIServer/Wire/FieldReader.swift Sources/OpenAIServer/Wire/ChatCompletionRequest.swift \
        Sources/OpenAIServer/Wire/CompletionRequest.swift Sources/OpenAIServer/Wire/SamplingFields.swift \
        Sources/OpenAIServer/Wire/ConstraintFields.swift Fuzz/Support/APIError.swift
}

# Which modules each target links (in dependency order).
deps() {
    case $1 in
    json) echo JSON ;;
    jinja|chat-json) echo JSON Templating ;;
    tokenizer) echo JSON Tokenization ;;
    config) echo JSON TensorCore GGUF LanguageModels ;;
    gguf) echo JSON TensorCore GGUF Tokenization LanguageModels ;;
    json-schema) echo JSON Grammar ;;
    safetensors|shard-index) echo JSON TensorCore SafeTensors ;;
    reply-parser) echo JSON Templating Tokenization Grammar InferenceEngine ;;
    server-request) echo JSON Templating Tokenization Grammar InferenceEngine OpenAIServer ;;
    *) echo "unknown fuzz target $1" >&2; exit 2 ;;
    esac
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=($(ls Fuzz/Targets))
modules
for t in "${targets[@]}"; do
    objs=()
    for m in $(deps "$t"); do objs+=("$OUT/$m.o"); done
    support=()
    case $t in
    safetensors|shard-index) support=(Fuzz/Support/ScratchFile.swift) ;;
    # The GGUF tokenizer lives in the engine; it alone is compiled into the harness (no model code).
    gguf) support=(Fuzz/Support/ScratchFile.swift Sources/InferenceEngine/GGUFTokenizer.swift) ;;
    esac
    echo "linking $t" >&2
    "$SWIFTC" "${FLAGS[@]}" Fuzz/Targets/"$t"/main.swift ${support[@]+"${support[@]}"} "${objs[@]}" -o "$OUT/$t"
done
