#!/usr/bin/env python3
"""Seeds a fuzz target's corpus from Tests/Fixtures: python3 Fuzz/seed.py TARGET DIR (see Fuzz/README.md)."""
import glob, hashlib, json, os, struct, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIX = os.path.join(ROOT, "Tests", "Fixtures")
# Models with a tokenizer and a chat template (the YaRN fixture has only config and weights).
MODELS = sorted(m for m in glob.glob(os.path.join(FIX, "models", "*")) if os.path.exists(os.path.join(m, "tokenizer.json")))


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def cases(name):
    return load(os.path.join(FIX, name))["cases"]


def safetensors(tensors):
    """A valid file from [(name, dtype, shape, raw bytes)]."""
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def gguf(metadata, tensors):
    """A GGUF v3 file from [(key, type code, value)] and [(name, ggml dims, ggml type, raw bytes)]."""
    def string(v):
        b = v.encode()
        return struct.pack("<Q", len(b)) + b

    fmt = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}

    def value(t, v):
        if t == 8:
            return string(v)
        if t == 9:
            et, items = v
            return struct.pack("<IQ", et, len(items)) + b"".join(value(et, x) for x in items)
        return struct.pack(fmt[t], v)

    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, t, v in metadata:
        out += string(key) + struct.pack("<I", t) + value(t, v)
    data, offset = b"", 0
    for name, dims, t, raw in tensors:
        data += b"\0" * (offset - len(data)) + raw
        out += string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", t, offset)
        offset = (len(data) + 31) // 32 * 32
    return out + b"\0" * (-len(out) % 32) + data


def qwen35_gguf(model_dir, vocab_limit=None):
    """A qwen35/qwen35moe GGUF of a fixture model's config and tokenizer (as llama.cpp's converter names the
    keys), with a Q8_0 token_embd.weight [vocab, hidden] of zero bytes and one F32 norm: enough for the config
    and tokenizer loaders."""
    c = load(os.path.join(model_dir, "config.json"))["text_config"]
    tok = load(os.path.join(model_dir, "tokenizer.json"))
    moe = "num_experts" in c
    arch = "qwen35moe" if moe else "qwen35"
    U32, F32, STR, ARR, BOOL, I32 = 4, 6, 8, 9, 7, 5
    md = [("general.architecture", STR, arch), ("general.alignment", U32, 32),
          (f"{arch}.block_count", U32, c["num_hidden_layers"] + 1), (f"{arch}.nextn_predict_layers", U32, 1),
          (f"{arch}.context_length", U32, c["max_position_embeddings"]), (f"{arch}.embedding_length", U32, c["hidden_size"]),
          (f"{arch}.attention.head_count", U32, c["num_attention_heads"]),
          (f"{arch}.attention.head_count_kv", U32, c["num_key_value_heads"]), (f"{arch}.attention.key_length", U32, c["head_dim"]),
          (f"{arch}.attention.layer_norm_rms_epsilon", F32, c["rms_norm_eps"]),
          (f"{arch}.rope.freq_base", F32, c["rope_parameters"]["rope_theta"]),
          (f"{arch}.rope.dimension_count", U32, int(c["head_dim"] * c["rope_parameters"]["partial_rotary_factor"])),
          (f"{arch}.ssm.conv_kernel", U32, c["linear_conv_kernel_dim"]), (f"{arch}.ssm.state_size", U32, c["linear_key_head_dim"]),
          (f"{arch}.ssm.group_count", U32, c["linear_num_key_heads"]), (f"{arch}.ssm.time_step_rank", U32, c["linear_num_value_heads"]),
          (f"{arch}.ssm.inner_size", U32, c["linear_num_value_heads"] * c["linear_value_head_dim"]),
          (f"{arch}.attention.recurrent_layers", ARR, (BOOL, [t == "linear_attention" for t in c["layer_types"]] + [False]))]
    if moe:
        md += [(f"{arch}.expert_count", U32, c["num_experts"]), (f"{arch}.expert_used_count", U32, c["num_experts_per_tok"]),
               (f"{arch}.expert_feed_forward_length", U32, c["moe_intermediate_size"]),
               (f"{arch}.expert_shared_feed_forward_length", U32, c["shared_expert_intermediate_size"])]
    else:
        md += [(f"{arch}.feed_forward_length", U32, c["intermediate_size"])]
    tokens = {i: (t, 1) for t, i in tok["model"]["vocab"].items()}
    tokens.update({a["id"]: (a["content"], 3 if a["special"] else 4) for a in tok["added_tokens"]})
    vocab = vocab_limit or c["vocab_size"]
    names = [tokens.get(i, (f"[PAD{i}]", 5)) for i in range(vocab)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    if vocab_limit:
        merges = [m for m in merges if all(p in {n for n, _ in names} for p in m.split(" ") + ["".join(m.split(" "))])]
    md += [("tokenizer.ggml.model", STR, "gpt2"), ("tokenizer.ggml.pre", STR, "qwen35"),
           ("tokenizer.ggml.tokens", ARR, (STR, [n for n, _ in names])), ("tokenizer.ggml.token_type", ARR, (I32, [t for _, t in names])),
           ("tokenizer.ggml.merges", ARR, (STR, merges)), ("tokenizer.ggml.eos_token_id", U32, min(c["eos_token_id"], vocab - 1))]
    hidden = c["hidden_size"]
    tensors = [("token_embd.weight", [hidden, vocab], 8, b"\0" * (vocab * hidden // 32 * 34)),
               ("output_norm.weight", [hidden], 0, struct.pack(f"<{hidden}f", *([1.0] * hidden)))]
    return gguf(md, tensors)


def seeds(target):
    if target in ("json", "config"):
        for m in MODELS:
            yield open(os.path.join(m, "config.json"), "rb").read()
        yield from (open(p, "rb").read() for p in glob.glob(os.path.join(FIX, "fuzz", "*", "config.json")))
    if target == "json":
        for m in MODELS:
            for f in ("generation_config.json", "tokenizer_config.json"):
                yield open(os.path.join(m, f), "rb").read()
        for c in cases("tokenizer/chat.json")[:50]:
            yield json.dumps({"messages": c["messages"], "tools": c["tools"]}, ensure_ascii=False).encode()
        yield from [b'{"a": [1, -0.5e-3, 12345678901234567890, "\\ud83d\\ude00", null, true]}', b"[[[[]]]]", b'"\\u00e9"']
    if target == "tokenizer":
        for m in MODELS:
            if os.path.exists(os.path.join(m, "tokenizer.json")):   # the YaRN fixture has no tokenizer
                yield open(os.path.join(m, "tokenizer.json"), "rb").read()
    if target == "jinja":
        for m in MODELS:
            if os.path.exists(os.path.join(m, "chat_template.jinja")):   # the YaRN fixture has no template
                yield open(os.path.join(m, "chat_template.jinja"), "rb").read()
        for c in cases("templating/jinja2_cases.json") + cases("templating/qwen_extra_cases.json"):
            if isinstance(c.get("template"), str):
                yield c["template"].encode()
    if target == "chat-json":
        for c in cases("tokenizer/chat.json") + cases("templating/qwen_extra_cases.json"):
            if isinstance(c.get("messages"), list):
                yield json.dumps({"messages": c["messages"], "tools": c.get("tools"), "options": c.get("options") or {}},
                                 ensure_ascii=False).encode()
    if target in ("reply-parser", "server-request"):
        for c in cases("references/scripted.json"):
            if target == "reply-parser":
                yield c["completion_text"].encode()
            else:
                yield json.dumps(c["request"], ensure_ascii=False).encode()
                prompt = {"model": "m", "prompt": c["completion_text"][:200], "max_tokens": 5, "stop": ["\n"], "logprobs": 2}
                yield json.dumps(prompt, ensure_ascii=False).encode()
    if target == "safetensors":
        f32 = struct.pack("<4f", 1, -2, 0.5, 3)
        yield safetensors([("model.norm.weight", "F32", [4], f32)])
        yield safetensors([("a", "BF16", [2, 2], b"\x80\x3f" * 4), ("b", "F16", [3], b"\x00\x3c" * 3), ("ids", "I64", [1], struct.pack("<q", 7))])
        yield safetensors([("empty", "F32", [0, 4], b""), ("scalar", "F32", [], struct.pack("<f", 1))])
        # The tiny model's real header, with each tensor cut down to its first row's bytes.
        raw = open(os.path.join(MODELS[0], "model.safetensors"), "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        tensors = []
        for name, t in list(header.items())[:12]:
            if name == "__metadata__":
                continue
            size = {"F32": 4, "BF16": 2, "F16": 2, "I64": 8}[t["dtype"]] * (t["shape"][-1] if t["shape"] else 1)
            begin = 8 + n + t["data_offsets"][0]
            tensors.append((name, t["dtype"], t["shape"][-1:], raw[begin:begin + size]))
        yield safetensors(tensors)
    if target == "gguf":
        yield open(os.path.join(FIX, "gguf", "quant_refs.gguf"), "rb").read()
        yield qwen35_gguf(os.path.join(FIX, "models", "qwen35-dense-tiny"))
        yield qwen35_gguf(os.path.join(FIX, "models", "qwen35-moe-tiny"), vocab_limit=64)
        yield gguf([("general.architecture", 8, "qwen35"), ("a.nested", 9, (9, [(4, [1, 2]), (8, ["x"])]))],
                   [(f, [256], t, b"\1" * size) for f, t, size in
                    (("f16", 1, 512), ("bf16", 30, 512), ("q4_K", 12, 144), ("q6_K", 14, 210), ("iq4_xs", 23, 136))])
    if target == "json-schema":
        from_tests = open(os.path.join(ROOT, "Tests", "GrammarTests", "SchemaCorpus.swift"), encoding="utf-8").read()
        # The corpus's raw string literals: schema: #"…"# / ##"…"## (valid documents follow as 0x01-separated tails).
        import re
        for m in re.finditer(r'schema: (#+)"(.*?)"\1,\s*valid: \[(#+)"(.*?)"\3', from_tests, re.S):
            yield m.group(2).encode()
            yield m.group(2).encode() + b"\x01" + m.group(4).encode()
        for m in re.finditer(r'\((#+)"(\{.*?)"\1, "', from_tests):
            yield m.group(2).encode()
        for c in load(os.path.join(ROOT, "Benchmarks", "grammar-cases.json")):
            if "schema" in c:
                yield json.dumps(c["schema"]).encode() + b"\x01" + c["text"].encode()
    if target == "shard-index":
        for shards in (1, 2, 3):
            files = [f"model-{i:05d}-of-{shards:05d}.safetensors" for i in range(1, shards + 1)]
            names = ["model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight", "lm_head.weight"]
            yield json.dumps({"metadata": {"total_size": 1234}, "weight_map": {n: files[i % shards] for i, n in enumerate(names)}}).encode()


def main():
    target, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    count = 0
    for data in seeds(target):
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)
        count += 1
    if count == 0:
        sys.exit(f"no seeds for {target}")
    print(f"seeded {out} with {count} inputs", file=sys.stderr)


main()
