import XCTest
import Templating
@testable import InferenceEngine

/// Adversarial replies; every one is also streamed char by char and at every split point (`parseAllWays`).
final class ReplyParserEdgeTests: XCTestCase {
    let weather = tool("get_weather", [("city", typed("string")), ("days", typed("integer"))])

    func arguments(_ reply: ParsedReply, _ i: Int = 0) throws -> JSONValue {
        try JSONValue.parse(XCTUnwrap(reply.toolCalls.dropFirst(i).first).arguments)
    }

    // MARK: reasoning

    func testReasoningAndContentSplitAtThinkClose() {
        let reply = parseAllWays("\nStep 1.\nStep 2.\n\n</think>\n\nAnswer.\n", thinking: true)
        XCTAssertEqual(reply, ParsedReply(reasoning: "Step 1.\nStep 2.", content: "Answer."))
    }

    func testThinkCloseWithThinkingOffStaysContent() {
        let reply = parseAllWays("a </think> b <think>c", thinking: false)
        XCTAssertEqual(reply, ParsedReply(reasoning: nil, content: "a </think> b <think>c"))
    }

    func testReasoningWithoutThinkCloseIsAllReasoning() {
        let text = "Let me think <tool_call>\n<function=get_weather>\n</thi"
        XCTAssertEqual(parseAllWays(text, thinking: true, tools: [weather]), ParsedReply(reasoning: text))
        var parser = ReplyParser(startsInReasoning: true, tools: [], makeID: { "\($0)" })
        _ = parser.feed("abc")
        XCTAssertTrue(parser.inReasoning)
        _ = parser.feed("</think>x")
        XCTAssertFalse(parser.inReasoning)
    }

    func testEmptyReasoningIsNil() {
        XCTAssertEqual(parseAllWays("\n\n</think>\n\nHi", thinking: true), ParsedReply(reasoning: nil, content: "Hi"))
        XCTAssertEqual(parseAllWays("</think>", thinking: true), ParsedReply())
    }

    func testAModelWrittenThinkOpenIsDropped() {
        XCTAssertEqual(parseAllWays("<think>\nhmm\n</think>\nok", thinking: true), ParsedReply(reasoning: "hmm", content: "ok"))
    }

    // MARK: values

    func testValuesKeepAngleBracketsAndNewlines() throws {
        let value = "a < b > c\n<b>bold</b>\n</param\n\nend"
        let reply = parseAllWays(xmlCall("get_weather", [("city", value)]), tools: [weather])
        XCTAssertEqual(try arguments(reply), .object([("city", .string(value))]))
        XCTAssertNil(reply.content)
    }

    func testStringValuesKeepNumbersAndNullAsWritten() throws {
        let t = tool("f", [("s", typed("string")), ("e", .object([("type", .string("string")), ("enum", .array([.string("1")]))]))])
        let reply = parseAllWays(xmlCall("f", [("s", "3"), ("e", "1"), ("s", "null")]), tools: [t])
        XCTAssertEqual(reply.toolCalls.first?.arguments, #"{"s":"3","e":"1","s":"null"}"#)
    }

    func testNumbersStayFloatsAndIntegersStayIntegers() throws {
        let t = tool("f", [("x", typed("number")), ("y", typed("number")), ("n", typed("integer")), ("m", typed("integer"))])
        let reply = parseAllWays(xmlCall("f", [("x", "3.0"), ("y", "3"), ("n", "7"), ("m", "3.5")]), tools: [t])
        XCTAssertEqual(reply.toolCalls.first?.arguments, #"{"x":3.0,"y":3.0,"n":7,"m":"3.5"}"#)
        XCTAssertEqual(try arguments(reply), .object([("x", .double(3)), ("y", .double(3)), ("n", .int(7)), ("m", .string("3.5"))]))
    }

    func testBooleansAreCaseInsensitive() throws {
        let t = tool("f", [("a", typed("boolean")), ("b", typed("boolean")), ("c", typed("boolean"))])
        let reply = parseAllWays(xmlCall("f", [("a", "True"), ("b", "false"), ("c", "yes")]), tools: [t])
        XCTAssertEqual(reply.toolCalls.first?.arguments, #"{"a":true,"b":false,"c":"yes"}"#)
    }

    func testTypeListsAndAnyOf() throws {
        let list = JSONValue.object([("type", .array([.string("null"), .string("integer")]))])
        let anyOf = JSONValue.object([("anyOf", .array([typed("null"), typed("array"), typed("string")]))])
        let nullOrString = JSONValue.object([("type", .array([.string("null"), .string("string")]))])
        let t = tool("f", [("a", list), ("b", anyOf), ("c", nullOrString), ("d", list), ("e", anyOf)])
        let reply = parseAllWays(xmlCall("f", [("a", "5"), ("b", "[1, {\"z\": 1, \"a\": 2}]"), ("c", "null"), ("d", "null"), ("e", "x")]),
                                 tools: [t])
        XCTAssertEqual(reply.toolCalls.first?.arguments, #"{"a":5,"b":[1,{"z":1,"a":2}],"c":"null","d":null,"e":"x"}"#)
    }

    func testObjectsKeepKeyOrderAndBadJSONStaysAString() throws {
        let t = tool("f", [("o", typed("object")), ("p", typed("object")), ("q", typed("integer"))])
        let reply = parseAllWays(xmlCall("f", [("o", "{\"b\": 1, \"a\": [true]}"), ("p", "{oops"), ("q", "null")]), tools: [t])
        XCTAssertEqual(reply.toolCalls.first?.arguments, #"{"o":{"b":1,"a":[true]},"p":"{oops","q":null}"#)
    }

    func testUnknownParameterIsAString() throws {
        let reply = parseAllWays(xmlCall("get_weather", [("city", "Oslo"), ("days", "2"), ("extra", "42")]), tools: [weather])
        XCTAssertEqual(reply.toolCalls.first?.arguments, #"{"city":"Oslo","days":2,"extra":"42"}"#)
    }

    func testNonASCIIAndEscapes() throws {
        let value = "Zoë \"quoted\" \\ tab\there 😊 e\u{301}"
        let reply = parseAllWays(xmlCall("get_weather", [("city", value)]), tools: [weather])
        XCTAssertEqual(reply.toolCalls.first?.arguments, "{\"city\":\"Zoë \\\"quoted\\\" \\\\ tab\\there 😊 e\u{301}\"}")
    }

    func testEmptyValuesAndNoParameters() throws {
        let reply = parseAllWays(xmlCall("get_weather", [("city", "")]) + "\n" + xmlCall("get_weather", []), tools: [weather])
        XCTAssertEqual(reply.toolCalls.map(\.arguments), [#"{"city":""}"#, "{}"])
        XCTAssertEqual(reply.toolCalls.map(\.id), ["call_0", "call_1"])
        XCTAssertNil(reply.content)
    }

    // MARK: content around calls

    func testTextBeforeBetweenAndAfterCallsIsContent() {
        let text = "Checking.\n\n" + xmlCall("get_weather", [("city", "A")]) + "\n" + xmlCall("get_weather", [("city", "B")])
            + "\nAnd then\n\nsome more.\n"
        let reply = parseAllWays(text, tools: [weather])
        XCTAssertEqual(reply.content, "Checking.\n\nAnd then\n\nsome more.")
        XCTAssertEqual(reply.toolCalls.map(\.arguments), [#"{"city":"A"}"#, #"{"city":"B"}"#])
    }

    func testUnknownFunctionIsContent() {
        let call = xmlCall("launch_rockets", [("n", "3")])
        let reply = parseAllWays("Sure.\n\n" + call, tools: [weather])
        XCTAssertEqual(reply, ParsedReply(content: "Sure.\n\n" + call))
    }

    func testMalformedXMLIsContentAndALaterCallStillParses() {
        let bad = "<tool_call>\nget_weather(city=Rome)\n</tool_call>"
        let reply = parseAllWays(bad + "\n" + xmlCall("get_weather", [("city", "Rome")]), tools: [weather])
        XCTAssertEqual(reply.content, bad)
        XCTAssertEqual(reply.toolCalls.map(\.arguments), [#"{"city":"Rome"}"#])
    }

    func testToolsEmptyMeansEverythingIsContent() {
        let call = xmlCall("get_weather", [("city", "Rome")])
        XCTAssertEqual(parseAllWays(call), ParsedReply(content: call))
    }

    func testGarbageInsideAStartedCallClosesItAndIsContent() {
        let text = "<tool_call>\n<function=get_weather>\n<parameter=city>\nRome\n</parameter>\noops, no\n</function>"
        let reply = parseAllWays(text, tools: [weather])
        XCTAssertEqual(reply.toolCalls.map(\.arguments), [#"{"city":"Rome"}"#])
        XCTAssertEqual(reply.content, "oops, no\n</function>")
        // Complete up to `</function>`: the call stands, what replaces `</tool_call>` is content.
        let loose = "<tool_call><function=get_weather><parameter=city>Rome</parameter></function>\nthen text"
        XCTAssertEqual(parseAllWays(loose, tools: [weather]),
                       ParsedReply(content: "then text", toolCalls: [ParsedToolCall(id: "call_0", name: "get_weather", arguments: #"{"city":"Rome"}"#)]))
    }

    // MARK: truncated replies

    func testIncompleteCallsAtTheEndAreClosed() throws {
        let head = "<tool_call>\n<function=get_weather>\n"
        let cases: [(String, String, String?)] = [
            (head, "{}", nil),
            (head + "<parameter=city>\nRo", #"{"city":"Ro"}"#, nil),
            (head + "<parameter=city>\nRome\n</para", #"{"city":"Rome"}"#, "</para"),
            (head + "<parameter=days>\n4", #"{"days":4}"#, nil),
            (head + "<parameter=days>\n4\n", #"{"days":4}"#, nil),
            (head + "<parameter=ci", "{}", "<parameter=ci"),
            (head + "<parameter=city>\nX\n</parameter>\n</func", #"{"city":"X"}"#, "</func"),
            (head + "<parameter=city>\nX\n</parameter>\n</function>\n</tool", #"{"city":"X"}"#, "</tool"),
        ]
        for (text, args, content) in cases {
            let reply = parseAllWays(text, tools: [weather])
            XCTAssertEqual(reply.toolCalls.map(\.arguments), [args], text)
            XCTAssertEqual(reply.content, content, text)
            XCTAssertNoThrow(try JSONValue.parse(args))
        }
        // Not yet a call: the header never completed.
        XCTAssertEqual(parseAllWays("Hi\n\n<tool_call>\n<func", tools: [weather]), ParsedReply(content: "Hi\n\n<tool_call>\n<func"))
    }

    // MARK: streaming behaviour

    func testEventsComeAsEarlyAsTheyAreCertain() {
        var parser = ReplyParser(startsInReasoning: true, tools: [weather], makeID: { "id\($0)" })
        XCTAssertEqual(parser.feed("Hmm.\n</th"), [.reasoning("Hmm.")])
        XCTAssertEqual(parser.feed("ink>\n\nOk.\n\n<tool"), [.content("Ok.")])
        XCTAssertEqual(parser.feed("_call>\n<function=get_weather>"),
                       [.toolCallStart(index: 0, id: "id0", name: "get_weather"), .toolCallArguments(index: 0, fragment: "{")])
        XCTAssertEqual(parser.feed("\n<parameter=city>\nSan "), [.toolCallArguments(index: 0, fragment: #""city":"San "#)])
        XCTAssertEqual(parser.feed("Jose\n</"), [.toolCallArguments(index: 0, fragment: "Jose")])
        XCTAssertEqual(parser.feed("b>\n"), [.toolCallArguments(index: 0, fragment: "\\n</b>")])
        XCTAssertEqual(parser.feed("</parameter>\n<parameter=days>\n1"), [.toolCallArguments(index: 0, fragment: #"","days":"#)])
        XCTAssertEqual(parser.feed("0\n</parameter>\n</function>\n</tool_call>"), [.toolCallArguments(index: 0, fragment: "10}")])
        XCTAssertEqual(parser.finish(), [])
        XCTAssertEqual(parser.toolCallCount, 1)
    }

    func testToolSpecFromAnOpenAIToolEntry() throws {
        let entry = try JSONValue.parse(#"{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}"#)
        XCTAssertEqual(ToolSpec(openAITool: entry), ToolSpec(name: "f", parameters: .object([("type", .string("object"))])))
        XCTAssertNil(ToolSpec(openAITool: .object([("type", .string("function"))])))
    }
}
