#!/usr/bin/env python3
"""Server overhead: time to first token and inter-token latency through `qwenkit serve` vs `qwenkit generate`.

Both sides decode the same token ids greedily (the prompt is tokenized once with `qwenkit tokenize`; the server
gets the ids as a `/v1/completions` prompt, `generate` gets the text, which encodes to the same ids — checked),
with the EOS ids banned (logit bias -100) so both always produce exactly --max-tokens tokens.

Server side: a streaming `/v1/completions` request over a raw HTTP/1.1 socket (http.client, no SDK); every SSE
`data:` line is timestamped as it arrives. TTFT = request sent → first chunk with text. Inter-token latency = the
gaps between consecutive text chunks, per token.

`generate` side: the CLI writes each delta to stdout as it is produced (one write(2) per delta), so its stdout,
read from a pipe with os.read, is timestamped the same way: that is the engine's own per-token cadence without
HTTP. Its prefill time comes from its stderr summary (prompt tokens ÷ prefill tok/s) because its first stdout
byte also includes loading the model. Chunks with no text (a token that ends inside a UTF-8 character) are
skipped identically by both, so both sides see the same chunk sequence; a gap that spans k tokens counts as k
tokens of gap/k each.

Runs alternate server / generate (the machine's memory bandwidth drifts minute to minute), after one warm-up of
each. The server is started once with the same thread count as `generate`.

  python3 Benchmarks/server_latency.py --bin .build/release/qwenkit --model /tmp/bench/bench-0.8b --reps 5
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from qkserve import ServeProcess, pct  # noqa: E402

PROMPT = ("The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined "
          "movable metal type, oil-based ink and a wooden press adapted from those used for wine. Within fifty "
          "years, presses had spread to more than two hundred cities across Europe, and the price of books fell "
          "so quickly that reading, once the privilege of clergy and nobles, became common among merchants. "
          "Historians still argue about which consequence mattered most:")


def per_token_gaps(times: list[float], counts: list[int]) -> list[float]:
    """Per-token latencies from chunk arrival times; counts[i] = tokens that chunk i completes."""
    out = []
    for i in range(1, len(times)):
        k = max(1, counts[i])
        out += [(times[i] - times[i - 1]) / k] * k
    return out


class Server(ServeProcess):
    def __init__(self, binary: str, model: str, threads: int):
        super().__init__(binary, model, ["--threads", str(threads)], "server_latency_serve")

    def run(self, ids: list[int], max_tokens: int, bias: dict) -> dict:
        body = json.dumps({"model": "bench", "prompt": ids, "max_tokens": max_tokens, "temperature": 0,
                           "logit_bias": bias, "stream": True, "stream_options": {"include_usage": True}})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        conn.request("POST", "/v1/completions", body=body, headers={"content-type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        times, texts, usage = [], [], None
        while True:
            line = resp.fp.readline()
            t = time.perf_counter()
            if not line:
                break
            line = line.strip()
            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                if line == b"data: [DONE]":
                    break
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            for ch in chunk.get("choices", []):
                if ch.get("text"):
                    times.append(t)
                    texts.append(ch["text"])
        conn.close()
        return {"ttft": times[0] - t0, "times": times, "texts": texts, "tokens": usage["completion_tokens"]}


def run_generate(binary: str, model: str, text: str, max_tokens: int, bias: dict, threads: int) -> dict:
    cmd = [binary, "generate", "--model", model, "--prompt", text, "--max-tokens", str(max_tokens),
           "--temperature", "0", "--threads", str(threads)] + [f"--logit-bias={k}={v}" for k, v in bias.items()]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    times, raw = [], []
    fd = p.stdout.fileno()
    while True:
        b = os.read(fd, 65536)
        t = time.perf_counter()
        if not b:
            break
        times.append(t)
        raw.append(b)
    err = p.stderr.read().decode()
    assert p.wait() == 0, err
    # The final newline generate prints after the text is not a token.
    if raw and raw[-1] == b"\n":
        raw.pop(); times.pop()
    elif raw and raw[-1].endswith(b"\n"):
        raw[-1] = raw[-1][:-1]
    m = re.search(r"prompt (\d+) tokens, prefill ([\d.]+) tok/s; generated (\d+) tokens, decode ([\d.]+) tok/s", err)
    assert m, err
    n_prompt, prefill_rate, n_gen, decode_rate = int(m[1]), float(m[2]), int(m[3]), float(m[4])
    return {"prefill": n_prompt / prefill_rate, "decode_per_token": 1 / decode_rate, "tokens": n_gen,
            "times": times, "texts": [r.decode("utf-8", "replace") for r in raw], "prompt_tokens": n_prompt}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=".build/release/qwenkit")
    ap.add_argument("--model", default="/tmp/bench/bench-0.8b")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--prompt", default=PROMPT)
    ap.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    a = ap.parse_args()

    ids = json.loads(subprocess.check_output([a.bin, "tokenize", "--model", a.model, "--text", a.prompt]))
    eos = json.load(open(Path(a.model) / "generation_config.json")).get("eos_token_id", [])
    bias = {str(i): -100 for i in (eos if isinstance(eos, list) else [eos])}
    print(f"model {a.model}; prompt {len(ids)} tokens; {a.max_tokens} new tokens; threads {a.threads}; "
          f"{a.reps} reps (+1 warm-up each), interleaved", flush=True)

    server = Server(a.bin, a.model, a.threads)
    try:
        server.run(ids, 4, bias)
        run_generate(a.bin, a.model, a.prompt, 4, bias, a.threads)
        S, G = [], []
        for rep in range(a.reps):
            s = server.run(ids, a.max_tokens, bias)
            g = run_generate(a.bin, a.model, a.prompt, a.max_tokens, bias, a.threads)
            assert g["prompt_tokens"] == len(ids), "generate tokenized the prompt differently"
            assert s["tokens"] == g["tokens"] == a.max_tokens, (s["tokens"], g["tokens"])
            if "".join(s["texts"]) != "".join(g["texts"]):
                print("  warning: server and generate texts differ", flush=True)
            S.append(s)
            G.append(g)
            s_itl = (s["times"][-1] - s["times"][0]) / (a.max_tokens - 1)
            g_itl = (g["times"][-1] - g["times"][0]) / (a.max_tokens - 1)
            print(f"  rep {rep + 1}: server ttft {s['ttft'] * 1e3:7.1f} ms, itl {s_itl * 1e3:6.2f} ms | "
                  f"generate prefill {g['prefill'] * 1e3:7.1f} ms, itl {g_itl * 1e3:6.2f} ms "
                  f"(its decode stat {g['decode_per_token'] * 1e3:6.2f} ms/token)", flush=True)
    finally:
        server.stop()

    def gaps(run):
        # Chunks map 1:1 to tokens unless a token ended inside a character; spread such gaps evenly.
        n_chunks = len(run["times"])
        counts = [1] * n_chunks
        missing = a.max_tokens - n_chunks
        if missing > 0:
            counts[-1] += missing   # unknown placement; rare (byte tokens), documented above
        return per_token_gaps(run["times"], counts)

    s_g = [x for r in S for x in gaps(r)]
    g_g = [x for r in G for x in gaps(r)]
    s_mean = [(r["times"][-1] - r["times"][0]) / (a.max_tokens - 1) for r in S]
    g_mean = [(r["times"][-1] - r["times"][0]) / (a.max_tokens - 1) for r in G]
    diffs = [x - y for x, y in zip(s_mean, g_mean)]
    ms = lambda x: f"{x * 1e3:8.2f}"
    print()
    print(f"{'':34}{'server':>10}{'generate':>10}{'diff':>10}   (ms; medians over reps unless noted)")
    ttft, pre = statistics.median(r["ttft"] for r in S), statistics.median(r["prefill"] for r in G)
    print(f"{'TTFT vs prefill':34}{ms(ttft)}  {ms(pre)}  {ms(ttft - pre)}")
    print(f"{'inter-token mean':34}{ms(statistics.median(s_mean))}  {ms(statistics.median(g_mean))}  "
          f"{ms(statistics.median(diffs))}")
    print(f"{'inter-token p50 (all gaps)':34}{ms(pct(s_g, 50))}  {ms(pct(g_g, 50))}  {ms(pct(s_g, 50) - pct(g_g, 50))}")
    print(f"{'inter-token p99 (all gaps)':34}{ms(pct(s_g, 99))}  {ms(pct(g_g, 99))}  {ms(pct(s_g, 99) - pct(g_g, 99))}")
    print(f"{'generate decode stat (1/tok/s)':34}{'':10}  {ms(statistics.median(r['decode_per_token'] for r in G))}")
    sd = statistics.stdev(diffs) if len(diffs) > 1 else float("nan")
    print(f"server overhead per token: {statistics.mean(diffs) * 1e3:.3f} ms mean of paired reps "
          f"(± {sd * 1e3:.3f} ms sd, {len(diffs)} pairs); target < 1 ms")
    if a.json:
        print(json.dumps({"ttft_server_s": [r["ttft"] for r in S], "prefill_generate_s": [r["prefill"] for r in G],
                          "itl_server_s": s_mean, "itl_generate_s": g_mean,
                          "decode_stat_generate_s": [r["decode_per_token"] for r in G]}))


if __name__ == "__main__":
    main()
