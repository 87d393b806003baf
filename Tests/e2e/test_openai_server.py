"""End-to-end tests of `qwenkit serve` through the official `openai` Python package.

Two servers are started once per session as subprocesses on free ports: an open one, and one with
`--api-key sekret --max-body-bytes 4096`. Both must exit 0 within 30 s of SIGTERM at the end.

Environment:
  QWENKIT_BIN     the qwenkit binary (default .build/debug/qwenkit, relative to the repo root)
  SCRIPTED_MODEL  the qwen35-scripted model directory (default ../shared/fixtures/models/qwen35-scripted)
  SCRIPTED_REFS   scripted.json (default Tests/Fixtures/references/scripted.json, else next to the model)

Run from the repo root: python3 -m pytest -q Tests/e2e
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]
SERVED = "qwen35-scripted"
API_KEY = "sekret"
KEYED_MAX_BODY = 4096
IM_END = "<|im_end|>"


# ---------------------------------------------------------------------------------------------- setup

def _path(env: str, default: str) -> Path:
    p = Path(os.environ.get(env) or default)
    return p if p.is_absolute() else REPO / p


def qwenkit_bin() -> Path:
    return _path("QWENKIT_BIN", ".build/debug/qwenkit")


def model_dir() -> Path:
    return _path("SCRIPTED_MODEL", "../shared/fixtures/models/qwen35-scripted")


def refs_path() -> Path:
    if os.environ.get("SCRIPTED_REFS"):
        return _path("SCRIPTED_REFS", "")
    vendored = REPO / "Tests/Fixtures/references/scripted.json"
    return vendored if vendored.exists() else model_dir().parent.parent / "references/scripted.json"


def _load_cases() -> list[dict]:
    p = refs_path()
    return json.loads(p.read_text())["cases"] if p.exists() else []


CASES = _load_cases()
CASE_IDS = [c["id"] for c in CASES]
BY_ID = {c["id"]: c for c in CASES}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `qwenkit serve` subprocess; `stop()` sends SIGTERM and returns the exit code (None: still running
    after 30 s, then killed)."""

    def __init__(self, extra: list[str], name: str):
        binary, model = qwenkit_bin(), model_dir()
        if not binary.exists():
            pytest.fail(f"qwenkit binary not found at {binary} (build it, or set QWENKIT_BIN)")
        if not model.is_dir():
            pytest.skip(f"scripted model not found at {model} (set SCRIPTED_MODEL)")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"qwenkit-e2e-{name}-", suffix=".log", delete=False)
        cmd = [str(binary), "serve", "--model", str(model), "--port", str(self.port),
               "--served-model-name", SERVED, *extra]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode} while starting:\n{self.output()}")
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"/health not 200 within 60 s:\n{self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        try:
            return Path(self.log.name).read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


@pytest.fixture(scope="session")
def server():
    s = Server([], "open")
    yield s
    code = s.stop()
    assert code == 0, f"exit code after SIGTERM: {code} (None = still running after 30 s)\n{s.output()}"


@pytest.fixture(scope="session")
def keyed_server():
    s = Server(["--api-key", API_KEY, "--max-body-bytes", str(KEYED_MAX_BODY)], "keyed")
    yield s
    code = s.stop()
    assert code == 0, f"exit code after SIGTERM: {code} (None = still running after 30 s)\n{s.output()}"


@pytest.fixture(scope="session")
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base + "/v1", api_key="unused", max_retries=0, timeout=60)


@pytest.fixture(scope="session")
def keyed_client(keyed_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=keyed_server.base + "/v1", api_key=API_KEY, max_retries=0, timeout=60)


# --------------------------------------------------------------------------------------------- helpers

def strict_equal(a, b) -> bool:
    """Equality that tells 3 from 3.0 from "3" and True from 1; dict keys must also come in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return a == b


def extra(obj, name):
    """A field the openai models do not declare (reasoning_content)."""
    v = getattr(obj, name, None)
    if v is None and getattr(obj, "model_extra", None):
        v = obj.model_extra.get(name)
    return v


def chat_kwargs(case: dict) -> dict:
    r = case["request"]
    kw: dict = {"model": SERVED, "messages": r["messages"], "temperature": 0}
    if r.get("tools") is not None:
        kw["tools"] = r["tools"]
    if r.get("response_format") is not None:
        kw["response_format"] = r["response_format"]
    thinking = (r.get("options") or {}).get("enable_thinking")
    if thinking is not None:
        kw["extra_body"] = {"chat_template_kwargs": {"enable_thinking": thinking}}
    return kw


def reply_of_message(choice) -> dict:
    m = choice.message
    calls = [{"id": c.id, "type": c.type, "name": c.function.name, "arguments": c.function.arguments}
             for c in (m.tool_calls or [])]
    return {"role": m.role, "reasoning_content": extra(m, "reasoning_content"), "content": m.content,
            "tool_calls": calls, "finish_reason": choice.finish_reason}


def check_expected(reply: dict, usage, case: dict):
    exp, counts = case["expected"], case["token_counts"]
    assert reply["reasoning_content"] == exp["reasoning_content"]
    assert reply["content"] == exp["content"]
    assert reply["finish_reason"] == exp["finish_reason"]
    assert len(reply["tool_calls"]) == len(exp["tool_calls"]), reply["tool_calls"]
    for got, want in zip(reply["tool_calls"], exp["tool_calls"]):
        assert isinstance(got["id"], str) and got["id"], got
        assert got["type"] == "function"
        assert got["name"] == want["name"]
        args = json.loads(got["arguments"])
        assert strict_equal(args, want["arguments"]), f"arguments {args!r} != expected {want['arguments']!r}"
    ids = [c["id"] for c in reply["tool_calls"]]
    assert len(set(ids)) == len(ids), f"tool call ids not unique: {ids}"
    assert usage is not None
    assert strict_equal(usage.prompt_tokens, counts["prompt"])
    assert strict_equal(usage.completion_tokens, counts["completion"])
    assert strict_equal(usage.total_tokens, counts["prompt"] + counts["completion"])
    assert usage.completion_tokens_details is not None
    assert strict_equal(usage.completion_tokens_details.reasoning_tokens, counts["reasoning"])


def metric(base: str, name: str) -> float:
    text = httpx.get(base + "/metrics", timeout=5).text
    m = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    assert m, f"{name} not in /metrics:\n{text[:2000]}"
    return float(m.group(1))


def error_body(response: httpx.Response) -> dict:
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) >= {"message", "type", "param", "code"}, err
    assert isinstance(err["message"], str) and err["message"]
    return err


_whole_cache: dict[str, tuple[dict, object]] = {}


def whole_reply(client, case) -> tuple[dict, object]:
    if case["id"] not in _whole_cache:
        r = client.chat.completions.create(**chat_kwargs(case))
        assert r.object == "chat.completion" and r.model == SERVED and len(r.choices) == 1
        _whole_cache[case["id"]] = (reply_of_message(r.choices[0]), r.usage)
    return _whole_cache[case["id"]]


# ----------------------------------------------------------------------------------------- chat cases

@pytest.mark.parametrize("case_id", CASE_IDS)
def test_chat_case(client, case_id):
    case = BY_ID[case_id]
    reply, usage = whole_reply(client, case)
    assert reply["role"] == "assistant"
    check_expected(reply, usage, case)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_chat_case_streamed(client, case_id):
    case = BY_ID[case_id]
    stream = client.chat.completions.create(**chat_kwargs(case), stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks, "no chunks"
    with_choices = [c for c in chunks if c.choices]
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1], "one usage chunk, last"
    assert chunks[-1].choices == [], "the usage chunk has empty choices"
    for c in chunks:
        assert c.object == "chat.completion.chunk" and c.model == SERVED
    assert len({c.id for c in chunks}) == 1, "one id across the stream"
    assert with_choices[0].choices[0].delta.role == "assistant", "first chunk carries the role"
    assert with_choices[-1].choices[0].finish_reason is not None, "last chunk with choices carries finish_reason"
    assert all(c.choices[0].finish_reason is None for c in with_choices[:-1]), "finish_reason only once"

    reasoning, content = "", ""
    got_reasoning = got_content = False
    calls: dict[int, dict] = {}
    for c in with_choices:
        ch = c.choices[0]
        assert ch.index == 0
        d = ch.delta
        r = extra(d, "reasoning_content")
        if r:
            reasoning += r
            got_reasoning = True
        if d.content:
            content += d.content
            got_content = True
        for tc in d.tool_calls or []:
            if tc.index not in calls:
                assert tc.id, f"first delta of call {tc.index} has no id: {tc}"
                assert tc.type == "function" and tc.function and tc.function.name, f"first delta incomplete: {tc}"
                assert tc.index == len(calls), "calls are indexed 0, 1, … in order"
                calls[tc.index] = {"id": tc.id, "type": tc.type, "name": tc.function.name,
                                   "arguments": tc.function.arguments or ""}
            else:
                assert tc.id is None and tc.type is None, f"later delta of call {tc.index} repeats id/type: {tc}"
                assert tc.function is not None and tc.function.name is None, f"later delta repeats the name: {tc}"
                calls[tc.index]["arguments"] += tc.function.arguments or ""
    reply = {"role": "assistant", "reasoning_content": reasoning if got_reasoning else None,
             "content": content if got_content else None,
             "tool_calls": [calls[i] for i in sorted(calls)],
             "finish_reason": with_choices[-1].choices[0].finish_reason}
    check_expected(reply, usage_chunks[0].usage, case)

    whole, whole_usage = whole_reply(client, case)
    strip_ids = lambda r: {**r, "tool_calls": [{k: v for k, v in c.items() if k != "id"} for c in r["tool_calls"]]}
    assert strip_ids(reply) == strip_ids(whole), "streamed reply differs from the non-streamed one"
    # The same prompt a second time may come from the prefix cache (every 256 prompt tokens): the counts match,
    # the cached part may differ.
    def counts(u):
        d = u.model_dump()
        d["prompt_tokens_details"] = None
        return d
    assert counts(usage_chunks[0].usage) == counts(whole_usage)
    prompt = case["token_counts"]["prompt"]
    for u in (usage_chunks[0].usage, whole_usage):
        cached = u.prompt_tokens_details.cached_tokens
        assert cached % 256 == 0 and cached <= (prompt - 1) // 256 * 256, cached
    # The streamed request comes after the non-streamed one (test_chat_case, memoised by whole_reply): it finds
    # every whole block of this prompt in the cache.
    assert usage_chunks[0].usage.prompt_tokens_details.cached_tokens == (prompt - 1) // 256 * 256


# ------------------------------------------------------------------------------------------------ models

def test_models_list_and_retrieve(client):
    ids = [m.id for m in client.models.list()]
    assert ids == [SERVED]
    m = client.models.retrieve(SERVED)
    assert m.id == SERVED and m.object == "model"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_unknown_model_in_chat(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-nope", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 404
    assert e.value.code == "model_not_found" and e.value.param == "model"


# ------------------------------------------------------------------------------------------- completions

def completion_expectations(case):
    text = case["completion_text"]
    assert text.endswith(IM_END)
    ids = case["completion_ids"]
    return text[: -len(IM_END)], ids


@pytest.mark.parametrize("prompt_kind", ["ids", "text"])
def test_completions(client, prompt_kind):
    case = BY_ID["pub-02-reasoning"]
    expected_text, completion_ids = completion_expectations(case)
    prompt = case["prompt_ids"] if prompt_kind == "ids" else case["rendered_prompt"]
    r = client.completions.create(model=SERVED, prompt=prompt, temperature=0, max_tokens=200, logprobs=2)
    assert r.object == "text_completion" and len(r.choices) == 1
    ch = r.choices[0]
    assert ch.text == expected_text
    assert ch.finish_reason == "stop"
    assert r.usage.prompt_tokens == len(case["prompt_ids"])
    assert r.usage.completion_tokens == len(completion_ids)   # the stop token counts, as in chat usage
    lp = ch.logprobs
    # One entry per emitted token: the stop token (<|im_end|>) is counted in usage but not emitted.
    n = len(completion_ids) - 1
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == len(lp.text_offset) == n
    assert "".join(lp.tokens) == ch.text
    assert all(isinstance(x, float) and x <= 0 for x in lp.token_logprobs)
    assert all(isinstance(t, dict) and len(t) <= 2 and len(t) >= 1 for t in lp.top_logprobs)
    assert lp.text_offset[0] == 0
    assert all(lp.text_offset[i + 1] == lp.text_offset[i] + len(lp.tokens[i].encode("utf-16-le")) // 2
               for i in range(n - 1))

    stream = client.completions.create(model=SERVED, prompt=prompt, temperature=0, max_tokens=200, logprobs=2,
                                       stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.model_dump() == r.usage.model_dump()
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in with_choices[:-1])
    assert "".join(c.choices[0].text for c in with_choices) == ch.text
    s_tokens = [t for c in with_choices if c.choices[0].logprobs for t in c.choices[0].logprobs.tokens]
    s_values = [v for c in with_choices if c.choices[0].logprobs for v in c.choices[0].logprobs.token_logprobs]
    s_offsets = [o for c in with_choices if c.choices[0].logprobs for o in c.choices[0].logprobs.text_offset]
    assert s_tokens == lp.tokens and s_values == lp.token_logprobs and s_offsets == lp.text_offset


def test_completions_max_tokens_length(client):
    case = BY_ID["pub-01-plain"]
    r = client.completions.create(model=SERVED, prompt=case["prompt_ids"], temperature=0, max_tokens=5)
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 5
    assert case["completion_text"].startswith(r.choices[0].text)


def test_chat_logprobs_have_bytes(client):
    case = BY_ID["pub-10-non-ascii"]
    r = client.chat.completions.create(**chat_kwargs(case), logprobs=True, top_logprobs=2)
    content = r.choices[0].logprobs.content
    assert content, "no logprobs"
    for entry in content:
        assert isinstance(entry.bytes, list) and entry.bytes, entry
        assert all(isinstance(b, int) and 0 <= b < 256 for b in entry.bytes)
        assert isinstance(entry.logprob, float) and entry.logprob <= 0
        assert len(entry.top_logprobs) == 2
        assert all(isinstance(t.bytes, list) for t in entry.top_logprobs)
    # The tokens' bytes spell the generated text (the emoji spans byte tokens whose text alone is U+FFFD).
    raw = bytes(b for e in content for b in e.bytes).decode("utf-8")
    assert raw in (case["completion_text"], case["completion_text"][: -len(IM_END)])
    assert len(content) in (r.usage.completion_tokens, r.usage.completion_tokens - 1)


# ------------------------------------------------------------------------------------------------ errors

def test_invalid_json_body(server):
    r = httpx.post(server.base + "/v1/chat/completions", content=b'{"model": "x", "messages": [',
                   headers={"content-type": "application/json"})
    assert r.status_code == 400
    err = error_body(r)
    assert err["type"] == "invalid_request_error"


def test_temperature_wrong_type(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=SERVED, messages=[{"role": "user", "content": "hi"}], temperature="hot")
    assert e.value.status_code == 400 and e.value.param == "temperature"


def test_temperature_out_of_range(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=SERVED, messages=[{"role": "user", "content": "hi"}], temperature=5)
    assert e.value.param == "temperature"


def test_n_zero(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=SERVED, messages=[{"role": "user", "content": "hi"}], n=0)
    assert e.value.param == "n"


def test_image_part_refused(client):
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]}]
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=SERVED, messages=messages)
    assert "image" in e.value.message.lower()


def test_context_length_exceeded(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=SERVED, messages=[{"role": "user", "content": "hi"}], max_tokens=10**9)
    assert e.value.code == "context_length_exceeded"


def test_body_too_large(keyed_server, keyed_client):
    big = "x" * (KEYED_MAX_BODY + 100)
    r = httpx.post(keyed_server.base + "/v1/chat/completions",
                   json={"model": SERVED, "messages": [{"role": "user", "content": big}]},
                   headers={"authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 413
    error_body(r)
    with pytest.raises(openai.APIStatusError) as e:
        keyed_client.chat.completions.create(model=SERVED, messages=[{"role": "user", "content": big}])
    assert e.value.status_code == 413
    # Just under the limit is fine.
    ok = keyed_client.chat.completions.create(model=SERVED, messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    assert ok.choices[0].finish_reason in ("length", "stop")


def test_api_key(keyed_server, keyed_client):
    wrong = openai.OpenAI(base_url=keyed_server.base + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model=SERVED, messages=[{"role": "user", "content": "hi"}])
    r = httpx.get(keyed_server.base + "/v1/models")   # no key at all
    assert r.status_code == 401
    error_body(r)
    assert httpx.get(keyed_server.base + "/health").status_code == 200
    assert httpx.get(keyed_server.base + "/metrics").status_code == 200
    assert [m.id for m in keyed_client.models.list()] == [SERVED]


@pytest.mark.parametrize("path", ["/nope", "/v1/nope"])
def test_unknown_route(server, path):
    r = httpx.get(server.base + path)
    assert r.status_code == 404
    error_body(r)


def test_metrics(server, client):
    client.models.list()
    text = httpx.get(server.base + "/metrics").text
    for name in ["qwenkit_requests_total", "qwenkit_time_to_first_token_seconds", "qwenkit_queue_depth",
                 "qwenkit_running_sequences", "qwenkit_inter_token_latency_seconds"]:
        assert name in text, name


# ----------------------------------------------------------------------------------- disconnect, seeds

NONSENSE = "zebra quantum marmalade seventeen violin"


def test_client_disconnect_mid_stream(server, client):
    eos_ban = {"506": -100, "504": -100}   # so the nonsense continuation cannot end early
    before = metric(server.base, "qwenkit_generation_tokens_total")
    with httpx.Client(timeout=30) as h:
        with h.stream("POST", server.base + "/v1/completions",
                      json={"model": SERVED, "prompt": NONSENSE, "max_tokens": 200, "stream": True,
                            "logit_bias": eos_ban}) as r:
            assert r.status_code == 200
            seen = 0
            for line in r.iter_lines():
                if line.startswith("data: "):
                    seen += 1
                    if seen == 2:
                        break
    deadline = time.monotonic() + 2.5
    while metric(server.base, "qwenkit_running_sequences") != 0:
        assert time.monotonic() < deadline, "qwenkit_running_sequences did not return to 0 after the client left"
        time.sleep(0.05)
    generated = metric(server.base, "qwenkit_generation_tokens_total") - before
    assert generated < 200, f"the abandoned request generated {generated} tokens (not cancelled)"
    r = client.completions.create(model=SERVED, prompt=NONSENSE, max_tokens=3, temperature=0)
    assert r.usage.completion_tokens <= 3 and r.choices[0].finish_reason in ("length", "stop")


def _stream_text(s) -> str:
    return "".join(c.choices[0].text for c in s if c.choices)


def test_seeded_sampling_completions(client):
    kw = dict(model=SERVED, prompt=NONSENSE, max_tokens=24, temperature=0.8, seed=7, logit_bias={"506": -100, "504": -100})
    a = client.completions.create(**kw).choices[0].text
    b = client.completions.create(**kw).choices[0].text
    c = _stream_text(client.completions.create(**kw, stream=True))
    d = _stream_text(client.completions.create(**kw, stream=True))
    assert a == b == c == d
    assert a


def test_seeded_sampling_chat(client):
    kw = dict(model=SERVED, messages=[{"role": "user", "content": NONSENSE}], max_tokens=24, temperature=0.8, seed=7)
    a = client.chat.completions.create(**kw).choices[0].message
    b = client.chat.completions.create(**kw).choices[0].message
    assert (a.content, extra(a, "reasoning_content")) == (b.content, extra(b, "reasoning_content"))

    def streamed():
        content, reasoning = "", ""
        for ch in client.chat.completions.create(**kw, stream=True):
            if ch.choices:
                content += ch.choices[0].delta.content or ""
                reasoning += extra(ch.choices[0].delta, "reasoning_content") or ""
        return content, reasoning

    s1, s2 = streamed(), streamed()
    assert s1 == s2 == ((a.content or ""), (extra(a, "reasoning_content") or ""))


# ------------------------------------------------------------------------------ batching and prefix cache

def test_batched_equals_alone_equals_cached(client):
    """Through the release server: token-id prompts with logprobs give the same tokens and logprobs (to the
    bit, as JSON numbers) sent one at a time, all at once (batched in one forward), and again from the prefix
    cache; seeded sampling included."""
    import concurrent.futures
    prompts = [[(i * 37 + k * 11 + 5) % 490 for i in range(n)] for k, n in enumerate((300, 40, 520, 129))]
    def ask(k):
        r = client.completions.create(model=SERVED, prompt=prompts[k], max_tokens=12, logprobs=2,
                                      temperature=0 if k % 2 == 0 else 0.9, seed=k, logit_bias={"506": -100, "504": -100})
        c = r.choices[0]
        return c.text, c.logprobs.tokens, c.logprobs.token_logprobs, r.usage.prompt_tokens_details.cached_tokens
    alone = [ask(k) for k in range(len(prompts))]
    with concurrent.futures.ThreadPoolExecutor(len(prompts)) as pool:
        together = list(pool.map(ask, range(len(prompts))))
    for k in range(len(prompts)):
        assert together[k][:3] == alone[k][:3], f"prompt {k}: batched differs from alone"
        assert together[k][3] == (len(prompts[k]) - 1) // 256 * 256, f"prompt {k}: cached tokens"
