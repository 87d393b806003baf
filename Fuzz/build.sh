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

# The parsers and just enough of their modules to reach them: the engine's reply parser and the server's
# request readers are compiled without the model code and Hummingbird they do not use.
sources() {
    case $1 in
    JSON|Templating|Tokenization|TensorCore|SafeTensors|GGUF|Grammar) echo Sources/"$1"/*.swift ;;
    # The config alone (every Qwen35Config*.swift), and of Kernels only the RoPE scaling type it stores.
    LanguageModels) echo Sources/LanguageModels/Qwen35/Qwen35Config*.swift ;;
    Kernels) echo Sources/Kernels/RoPEScaling.swift ;;
    InferenceEngine) echo Sources/InferenceEngine/Reply/*.swift Sources/InferenceEngine/Generation/*.swift \
        Sources/InferenceEngine/{SamplingParameters,SequenceDecoder,StopStrings,CandidateSelection,Sampler,TokenConstraint}.swift ;;
    OpenAIServer) echo Sources/OpenAIServer/Wire/{FieldReader,ChatCompletionRequest,CompletionRequest,SamplingFields,ConstraintFields}.swift \
        Fuzz/Support/APIError.swift ;;
    esac
}

# Once the config stores a RoPE scaling (Sources/Kernels/RoPEScaling.swift), it imports Kernels for it.
kernels=$([[ -f Sources/Kernels/RoPEScaling.swift ]] && echo Kernels || true)

# The modules each module imports (of those above).
imports() {
    case $1 in
    Templating|Tokenization|Grammar) echo JSON ;;
    SafeTensors|GGUF) echo JSON TensorCore ;;
    LanguageModels) echo JSON TensorCore GGUF $kernels ;;
    InferenceEngine) echo JSON Templating Tokenization Grammar ;;
    OpenAIServer) echo JSON Templating Tokenization Grammar InferenceEngine ;;
    esac
}

# Which modules each target links (in dependency order: a module's imports come before it).
deps() {
    case $1 in
    json) echo JSON ;;
    jinja|chat-json) echo JSON Templating ;;
    tokenizer) echo JSON Tokenization ;;
    config) echo JSON TensorCore GGUF $kernels LanguageModels ;;
    gguf) echo JSON TensorCore GGUF Tokenization $kernels LanguageModels ;;
    json-schema) echo JSON Grammar ;;
    safetensors|shard-index) echo JSON TensorCore SafeTensors ;;
    reply-parser) echo JSON Templating Tokenization Grammar InferenceEngine ;;
    server-request) echo JSON Templating Tokenization Grammar InferenceEngine OpenAIServer ;;
    *) echo "unknown fuzz target $1" >&2; exit 2 ;;
    esac
}

# module NAME: compiles one module (object + swiftmodule) unless it is up to date: same file list and flags
# as last time, and neither its files nor the modules it imports are newer than its object. Only the modules
# the requested targets link are compiled.
done_modules=" "
module() {
    local name=$1
    [[ $done_modules == *" $name "* ]] && return
    local files=($(sources "$name")) imported=() m
    for m in $(imports "$name"); do imported+=("$OUT/$m.o"); done
    local obj="$OUT/$name.o" stamp="$OUT/$name.args" args="${FLAGS[*]} ${files[*]}"
    if ! [[ -f "$obj" && "$(cat "$stamp" 2>/dev/null)" == "$args" ]] \
        || [[ -n "$(find "${files[@]}" ${imported[@]+"${imported[@]}"} -newer "$obj" 2>/dev/null | head -1)" ]]; then
        echo "compiling module $name" >&2
        rm -f "$stamp"
        "$SWIFTC" "${FLAGS[@]}" -wmo -c -module-name "$name" -emit-module -emit-module-path "$OUT/$name.swiftmodule" \
            "${files[@]}" -o "$obj"
        echo "$args" > "$stamp"
    fi
    done_modules+="$name "
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=($(ls Fuzz/Targets))
for t in "${targets[@]}"; do
    objs=()
    for m in $(deps "$t"); do module "$m"; objs+=("$OUT/$m.o"); done
    support=()
    case $t in
    safetensors|shard-index) support=(Fuzz/Support/ScratchFile.swift) ;;
    # The GGUF tokenizer lives in the engine; it alone is compiled into the harness (no model code).
    gguf) support=(Fuzz/Support/ScratchFile.swift Sources/InferenceEngine/GGUFTokenizer.swift) ;;
    esac
    inputs=(Fuzz/Targets/"$t"/main.swift ${support[@]+"${support[@]}"} "${objs[@]}")
    if [[ -f "$OUT/$t" && -z "$(find "${inputs[@]}" -newer "$OUT/$t" | head -1)" ]]; then continue; fi
    echo "linking $t" >&2
    "$SWIFTC" "${FLAGS[@]}" "${inputs[@]}" -o "$OUT/$t"
done
