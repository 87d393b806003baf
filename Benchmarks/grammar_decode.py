#!/usr/bin/env python3
"""Decode tokens/s with and without a JSON Schema (issue 10's target: with ≥ 0.95× without), interleaved so that
a drift of the machine hits both sides alike. Each run is one `qwenkit generate` (raw completion, greedy, the
prompt read in 64-token chunks); the figure is the decode tok/s it prints (forward + sampling + mask, per token).

    swift build -c release --product qwenkit
    python3 Benchmarks/grammar_decode.py --bin .build/release/qwenkit --model /tmp/bench/bench-0.8b --reps 5

The schema defaults to the "nested + arrays" case of grammar-cases.json. A random-weight model under a schema may
finish early (the document completes): the token counts are printed beside the rates.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=".build/release/qwenkit")
ap.add_argument("--model", required=True)
ap.add_argument("--reps", type=int, default=5)
ap.add_argument("--max-tokens", type=int, default=48)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--case", default="nested + arrays", help="a case name of Benchmarks/grammar-cases.json")
ap.add_argument("--prompt", default="Describe the last order of the customer as JSON: ")
a = ap.parse_args()

case = next((c for c in json.load(open(os.path.join(here, "grammar-cases.json"))) if c["name"] == a.case), None)
if case is None or "schema" not in case:
    sys.exit(f"no case with a schema named {a.case!r}")
schema = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
json.dump(case["schema"], schema)
schema.close()

def run(constrained):
    cmd = [a.bin, "generate", "--model", a.model, "--prompt", a.prompt, "--max-tokens", str(a.max_tokens),
           "--temperature", "0", "--threads", str(a.threads)] + (["--json-schema", schema.name] if constrained else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"generated (\d+) tokens, decode ([\d.]+) tok/s", p.stderr)
    if p.returncode != 0 or not m:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    if constrained:
        json.loads(p.stdout) if m.group(1) != str(a.max_tokens) else None   # a completed document parses
    return int(m.group(1)), float(m.group(2))

rates = {False: [], True: []}
for rep in range(a.reps):
    for constrained in (False, True) if rep % 2 == 0 else (True, False):
        n, r = run(constrained)
        rates[constrained].append(r)
        print(f"rep {rep}  {'schema   ' if constrained else 'no schema'}  {n:3d} tokens  {r:6.2f} tok/s", flush=True)
without, with_ = statistics.median(rates[False]), statistics.median(rates[True])
print(f"median decode: without {without:.2f} tok/s, with schema {with_:.2f} tok/s, ratio {with_ / without:.3f} (target ≥ 0.95)")
os.unlink(schema.name)
