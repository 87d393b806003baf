import XCTest
import Templating
@testable import InferenceEngine

/// Found by the reply-parser fuzz target: the unread text was an array consumed from the front, so a long
/// reply took quadratic time (66 KB: 15 s under ASan). A 600 KB reply must parse in linear time.
final class ReplyParserScaleTests: XCTestCase {
    func testLongReplyParsesInLinearTime() throws {
        let weather = tool("get_weather", [("city", typed("string"))])
        func reply(_ n: Int) -> String {
            String(repeating: "reasoning words\n", count: n) + "</think>\n" + String(repeating: "content <b> x\n", count: n)
                + "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>"
        }
        func seconds(_ text: String) -> (Double, ParsedReply) {
            let start = Date()
            let parsed = ReplyParser.parse(text, startsInReasoning: true, tools: [weather], makeID: { "call_\($0)" })
            return (Date().timeIntervalSince(start), parsed)
        }
        let (small, _) = seconds(reply(2_500))
        let (large, parsed) = seconds(reply(20_000))   // 8× the text (~600 KB)
        XCTAssertEqual(parsed.toolCalls.map(\.name), ["get_weather"])
        XCTAssertEqual(parsed.content?.count, 20_000 * 14 - 1)
        // Linear: ~8× the time; quadratic was ~64×. The bound leaves room for a loaded machine.
        XCTAssertLessThan(large, max(small, 0.05) * 30, "small \(small) s, large \(large) s")
    }
}
