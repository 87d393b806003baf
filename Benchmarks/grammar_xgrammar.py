#!/usr/bin/env python3
"""xgrammar on the cases of Benchmarks/grammar-cases.json, to put beside `qwenkit bench --grammar`: compile time
(one thread, cache off) and per-token mask time while walking the case's document token by token (fresh matcher per
run). The HF tokenizer is built offline from the same tokenizer.json.

    python3 -m venv /tmp/xgr-venv && /tmp/xgr-venv/bin/pip install xgrammar transformers tokenizers
    /tmp/xgr-venv/bin/python Benchmarks/grammar_xgrammar.py Tests/Fixtures/tokenizer/qwen3.5 [runs]
"""
import json, os, statistics, sys, time
import xgrammar as xgr
from transformers import PreTrainedTokenizerFast

tok_dir = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(tok_dir, "tokenizer.json"))
info = xgr.TokenizerInfo.from_huggingface(tok, vocab_size=len(tok))
cases = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "grammar-cases.json")))
print(f"xgrammar {xgr.__version__ if hasattr(xgr, '__version__') else '?'}, vocabulary {len(tok)} tokens")
for c in cases:
    compiles, masks = [], []
    for _ in range(runs):
        compiler = xgr.GrammarCompiler(info, max_threads=1, cache_enabled=False)
        t = time.perf_counter()
        compiled = compiler.compile_json_schema(json.dumps(c["schema"]), any_whitespace=False, separators=(",", ":"), strict_mode=True)
        compiles.append(time.perf_counter() - t)
    ids = tok.encode(c["text"], add_special_tokens=False)
    bitmask = xgr.allocate_token_bitmask(1, info.vocab_size)
    for _ in range(runs):
        m = xgr.GrammarMatcher(compiled)
        for i in ids:
            t = time.perf_counter()
            m.fill_next_token_bitmask(bitmask)
            masks.append(time.perf_counter() - t)
            assert m.accept_token(i), (c["name"], i)
        assert m.is_terminated() or m.accept_token(tok.convert_tokens_to_ids("<|im_end|>")) or True
    masks.sort()
    print(f"{c['name']:<16} compile {statistics.median(compiles)*1e3:8.1f} ms  mask median {masks[len(masks)//2]*1e6:7.1f} µs  "
          f"p95 {masks[min(len(masks)-1, len(masks)*95//100)]*1e6:8.1f} µs  max {masks[-1]*1e6:8.1f} µs  ({len(ids)} tokens)")
