#!/usr/bin/env python3
"""Seeds a fuzz target's corpus from Tests/Fixtures: python3 Fuzz/seed.py TARGET DIR (see Fuzz/README.md)."""
import glob, hashlib, json, os, struct, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIX = os.path.join(ROOT, "Tests", "Fixtures")
MODELS = sorted(glob.glob(os.path.join(FIX, "models", "*")))


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
            yield open(os.path.join(m, "tokenizer.json"), "rb").read()
    if target == "jinja":
        for m in MODELS:
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
