// libFuzzer target: a chat file / chat JSON (`qwenkit render --chat`, `generate --chat`) read into a
// ChatRequest, and when it is valid, rendered with a small template that walks every message and tool.
import Foundation
import JSON
import Templating

let template = try! ChatTemplate(source: """
    {%- for m in messages %}<|{{ m.role }}|>{{ m.content if m.content is string else m.content | tojson }}
    {%- for c in m.tool_calls | default([]) %}{{ c.function.name }}({{ c.function.arguments | tojson }}){% endfor %}
    {%- endfor %}{% for t in tools or [] %}{{ t | tojson(indent=2) }}{% endfor %}
    """, name: "fuzz-chat")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let json = try? JSONValue.parse(data), let request = try? ChatRequest(json: json, source: "fuzz.json") else { return 0 }
    _ = try? template.render(messages: request.messages, tools: request.tools, options: request.options)
    return 0
}
