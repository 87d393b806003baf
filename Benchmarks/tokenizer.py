#!/usr/bin/env python3
"""Tokenizer throughput: QwenKit (`qwenkit bench --tokenizer-text`, release build) beside HF `tokenizers` on the
same ≥ 4 MB text, one thread each, in the same run.

The text is built from the strings of Tests/Fixtures/tokenizer/cases.json (every category: English, code, CJK,
scripts, emoji, numbers, whitespace, …), drawn with a fixed seed and joined by newlines until it reaches --mb MB.

    pip install tokenizers==0.23.3
    swift build -c release --product qwenkit
    python3 Benchmarks/tokenizer.py [--mb 4] [--model Tests/Fixtures/tokenizer/qwen3.5]
"""
import argparse, json, os, random, statistics, subprocess, sys, tempfile, time

os.environ["RAYON_NUM_THREADS"] = "1"           # HF tokenizers: one thread, like QwenKit's encode
os.environ["TOKENIZERS_PARALLELISM"] = "false"

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--mb", type=float, default=4.0)
ap.add_argument("--model", default=os.path.join(root, "Tests/Fixtures/tokenizer/qwen3.5"))
ap.add_argument("--qwenkit", default=os.path.join(root, ".build/release/qwenkit"))
ap.add_argument("--runs", type=int, default=3)
a = ap.parse_args()

cases = json.load(open(os.path.join(root, "Tests/Fixtures/tokenizer/cases.json")))["cases"]
strings = [c["text"] for c in cases if c["text"]]
rng = random.Random(7)
parts, size = [], 0
while size < a.mb * 1e6:
    s = rng.choice(strings)
    parts.append(s)
    size += len(s.encode()) + 1
text = "\n".join(parts)
path = os.path.join(tempfile.mkdtemp(), "corpus.txt")
open(path, "w", encoding="utf-8").write(text)
data = text.encode()
chunks, cur = [], bytearray()
for ch in text:                                   # the same 2 kB chunking as QwenKit's bench
    cur += ch.encode()
    if len(cur) >= 2048:
        chunks.append(cur.decode()); cur = bytearray()
if cur: chunks.append(cur.decode())

from tokenizers import Tokenizer, __version__
loads = []
for _ in range(3):
    t0 = time.perf_counter(); tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json")); loads.append(time.perf_counter() - t0)
whole, chunked = [], []
for _ in range(a.runs):
    tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    t0 = time.perf_counter(); n = len(tok.encode(text, add_special_tokens=False).ids); whole.append(time.perf_counter() - t0)
    tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    t0 = time.perf_counter()
    for c in chunks: tok.encode(c, add_special_tokens=False)
    chunked.append(time.perf_counter() - t0)
hf = {"load_s": statistics.median(loads), "tokens": n, "whole_s": statistics.median(whole), "chunked_s": statistics.median(chunked)}

out = subprocess.run([a.qwenkit, "bench", "--model", a.model, "--tokenizer-text", path, "--runs", str(a.runs), "--json"],
                     check=True, capture_output=True, text=True).stdout
qk = json.loads(out)
assert qk["tokens"] == hf["tokens"], f"token counts differ: QwenKit {qk['tokens']} vs HF {hf['tokens']}"
ids = json.loads(subprocess.run([a.qwenkit, "tokenize", "--model", a.model, "--file", path],
                                check=True, capture_output=True, text=True).stdout)
same = ids == tok.encode(text, add_special_tokens=False).ids
print(f"text: {len(data)/1e6:.2f} MB, {n} tokens, ids identical to HF: {same}; HF tokenizers {__version__}, 1 thread")
for mode in ["whole", "chunked"]:
    q, h = n / qk[f"{mode}_s"], n / hf[f"{mode}_s"]
    print(f"{mode:8s} QwenKit {q/1e6:.3f} M tok/s   HF {h/1e6:.3f} M tok/s   ratio {q/h:.2f}x")
print(f"load     QwenKit {qk['load_s']:.3f} s   HF {hf['load_s']:.3f} s")
