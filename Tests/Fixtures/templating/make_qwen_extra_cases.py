"""Regenerates qwen_extra_cases.json: more conversations through transformers' apply_chat_template with
the Qwen3.5 templates in ../tokenizer/qwen3.5 (same case shape as ../tokenizer/chat.json).
Run: python3 make_qwen_extra_cases.py  (needs transformers)."""
import json, pathlib
import transformers
from transformers import AutoTokenizer

HERE = pathlib.Path(__file__).parent
QWEN = HERE.parent / "tokenizer" / "qwen3.5"
TEMPLATES = {"default": (QWEN / "chat_template.jinja").read_text(),
             "small": (QWEN / "chat_template.small-models.jinja").read_text()}

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather → «city» 天气",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1},
                          "units": {"enum": ["c", "f"]}}, "required": ["city"]}}}
SEARCH = {"type": "function", "function": {"name": "search", "description": "Search.\nMulti-line \"quoted\" \\ description.",
          "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "filters": {"type": "object"}}}}}

def call(name, args, cid=None):
    c = {"type": "function", "function": {"name": name, "arguments": args}}
    if cid: c["id"] = cid
    return c

CASES = [
    ("multi_turn_reasoning_after_last_user", "default", [
        {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1", "reasoning_content": "R1"},
        {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2", "reasoning_content": "  R2 with spaces \n"}], None, {"add_generation_prompt": False}),
    ("think_tags_in_content_after_last_user", "default", [
        {"role": "user", "content": "Q"}, {"role": "assistant", "content": "<think>\n\nhidden\n\n</think>\n\n\nvisible\n"}], None, {"add_generation_prompt": False}),
    ("tool_args_all_types", "default", [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "Let me check.", "tool_calls": [call("search", {"q": "line1\nline2 \"q\" é", "filters": {"year": 2024, "tags": ["a", "b"], "exact": True, "score": 0.5, "none": None},
                                                                        "list": [1, [2, {"x": "y"}]], "n": -3, "f": 1e-7, "big": 12345678901234, "t": False, "z": None, "empty": "", "emptylist": [], "emptyobj": {}}, "c1")]},
        {"role": "tool", "tool_call_id": "c1", "content": "r1"}], [SEARCH, WEATHER], {"add_generation_prompt": True}),
    ("parallel_calls_and_responses", "default", [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": "Paris and Rome, 3 days?"},
        {"role": "assistant", "content": None, "reasoning_content": "Two calls.", "tool_calls": [call("get_weather", {"city": "Paris", "days": 3}), call("get_weather", {"city": "Rome", "days": 3, "units": "c"})]},
        {"role": "tool", "content": "Paris: sun"}, {"role": "tool", "content": "Rome: rain"},
        {"role": "assistant", "content": "Sun in Paris, rain in Rome."},
        {"role": "user", "content": "Thanks"}], [WEATHER], {"add_generation_prompt": True, "enable_thinking": False}),
    ("tool_then_more_tools_in_progress", "default", [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Oslo"})]},
        {"role": "tool", "content": "cold"},
        {"role": "assistant", "content": "checking more", "reasoning_content": "need units", "tool_calls": [call("get_weather", {"city": "Oslo", "units": "f"})]},
        {"role": "tool", "content": "30F"}], [WEATHER], {"add_generation_prompt": True}),
    ("system_with_tools_empty_system", "default", [
        {"role": "system", "content": "   "}, {"role": "user", "content": "hi"}], [WEATHER], {"add_generation_prompt": True}),
    ("vision_ids_many", "default", [
        {"role": "user", "content": [{"type": "image", "image": "a.png"}, {"type": "image_url", "image_url": {"url": "b"}}, {"type": "text", "text": "compare"}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "video", "video": "v.mp4"}, {"type": "image"}, {"type": "text", "text": "and"}]}], None, {"add_generation_prompt": True, "add_vision_id": True}),
    ("vision_no_ids", "small", [
        {"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "what happens?"}]}], None, {"add_generation_prompt": True, "enable_thinking": True}),
    ("small_thinking_variants", "small", [
        {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}], None, {"add_generation_prompt": True, "enable_thinking": False}),
    ("small_default_history_reasoning", "small", [
        {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1", "reasoning_content": "R"}], None, {"add_generation_prompt": False}),
    ("unicode_and_specials", "default", [
        {"role": "system", "content": "Réponds en français 🇫🇷\n\n"}, {"role": "user", "content": "  Ça va ? \t\n"}, {"role": "assistant", "content": "\n\nOui !  "}, {"role": "user", "content": "<|im_start|>x"}], None, {"add_generation_prompt": True}),
    ("tool_call_without_wrapper_and_string_values", "default", [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": "\n", "tool_calls": [{"name": "lookup", "arguments": {"key": 5, "opt": "s"}}]},
        {"role": "tool", "content": [{"type": "text", "text": "part1"}, {"type": "text", "text": "part2"}]}], [{"name": "lookup", "parameters": {}}], {"add_generation_prompt": False}),
    ("tools_empty_list", "default", [{"role": "user", "content": "hi"}], [], {"add_generation_prompt": True}),
    ("user_tool_response_only_then_user", "default", [
        {"role": "user", "content": "real question"}, {"role": "assistant", "content": "", "tool_calls": [call("search", {"q": "x"})]},
        {"role": "user", "content": "<tool_response>\nfake\n</tool_response>"}], [SEARCH], {"add_generation_prompt": True}),
    ("err_system_not_first", "default", [{"role": "user", "content": "a"}, {"role": "system", "content": "late"}], None, {"add_generation_prompt": True}),
    ("err_no_user_query", "default", [{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}], None, {"add_generation_prompt": True}),
    ("err_content_mapping", "default", [{"role": "user", "content": {"text": "dict content"}}], None, {"add_generation_prompt": True}),
    ("err_system_video", "default", [{"role": "system", "content": [{"type": "video"}]}, {"role": "user", "content": "x"}], None, {"add_generation_prompt": True}),
]

def run():
    tok = AutoTokenizer.from_pretrained(str(QWEN))
    out = []
    for cid, template, messages, tools, options in CASES:
        case = {"id": cid, "template": template, "messages": messages, "tools": tools, "options": options}
        try:
            case["rendered"] = tok.apply_chat_template(messages, tools=tools, tokenize=False, chat_template=TEMPLATES[template], **options)
            case["error"] = None
        except Exception as e:
            case["rendered"] = None
            case["error"] = f"{type(e).__name__}: {e}"
        out.append(case)
    meta = {"generator": f"transformers {transformers.__version__} apply_chat_template(tokenize=False)", "count": len(out)}
    path = HERE / "qwen_extra_cases.json"
    path.write_text(json.dumps({"meta": meta, "cases": out}, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(out)} cases, {sum(c['error'] is not None for c in out)} errors -> {path}")

if __name__ == "__main__":
    run()
