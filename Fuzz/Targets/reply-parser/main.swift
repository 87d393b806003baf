// libFuzzer target: the model's reply text (the input) split into reasoning, content and tool calls against
// a fixed tool schema, all at once and streamed in pieces; both must end without a crash.
import Foundation
import InferenceEngine
import JSON

let tools: [ToolSpec] = {
    let schema = try! JSONValue.parse("""
        {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
         "units": {"type": "string", "enum": ["c", "f"]}, "hourly": {"type": "boolean"},
         "ratio": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}},
         "extra": {"type": "object"}}, "required": ["city"]}
        """)
    return [ToolSpec(name: "get_weather", parameters: schema), ToolSpec(name: "search")]
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let text = String(decoding: bytes, as: UTF8.self)
    let reasoning = count > 0 && bytes[0] & 1 == 1
    _ = ReplyParser.parse(text, startsInReasoning: reasoning, tools: tools, makeID: { "call_\($0)" })
    // Streamed: pieces of 1..7 characters (token-sized), as the generator feeds it.
    var parser = ReplyParser(startsInReasoning: reasoning, tools: tools, makeID: { "call_\($0)" })
    var rest = Substring(text)
    var size = 1
    while !rest.isEmpty {
        _ = parser.feed(String(rest.prefix(size)))
        rest = rest.dropFirst(size)
        size = size % 7 + 1
    }
    _ = parser.finish()
    return 0
}
