// libFuzzer target: a Jinja chat template (the input) parsed, then rendered with a fixed chat that has a tool
// call and tools, the way `apply_chat_template` runs it. An error is fine, a crash, hang or out-of-memory is
// not. Limits are tighter than the server's defaults (TemplateLimits.default: 10^7 loop iterations, 10^5 macro
// calls, 64 MiB) so that no input costs more than a few milliseconds: the same checks trip, only sooner, and
// Qwen3.5's template renders this chat well inside them.
import Foundation
import JSON
import Templating

let chat: (messages: [JSONValue], tools: [JSONValue]) = {
    let text = """
    {"messages": [
      {"role": "system", "content": "You are helpful."},
      {"role": "user", "content": "What's the weather in Paris? 12345678901234567890"},
      {"role": "assistant", "content": "<think>\\nneed a tool\\n</think>\\n", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}}]},
      {"role": "tool", "content": "{\\"temp\\": 21.5}"},
      {"role": "user", "content": [{"type": "text", "text": "and tomorrow?"}, {"type": "image"}]}
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
      "required": ["city"]}}}]}
    """
    let v = try! JSONValue.parse(text)
    return (v["messages"]!.arrayValue!, v["tools"]!.arrayValue!)
}()

let limits: TemplateLimits = {
    var l = TemplateLimits()
    l.maxLoopIterations = 10_000
    l.maxMacroCalls = 1_000
    l.maxOutputBytes = 64 << 10
    return l
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let source = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    guard let template = try? ChatTemplate(source: source, name: "fuzz", limits: limits) else { return 0 }
    var options = ChatTemplateOptions()
    options.enableThinking = count % 2 == 0
    _ = try? template.render(messages: chat.messages, tools: chat.tools, options: options,
                             specialTokens: ["eos_token": "<|im_end|>", "bos_token": ""])
    return 0
}
