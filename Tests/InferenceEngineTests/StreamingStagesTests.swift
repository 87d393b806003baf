import XCTest
@testable import InferenceEngine

/// Stop strings and the thinking splitter on adversarially split deltas: every way of cutting the text.
final class StreamingStagesTests: XCTestCase {
    func splits(_ s: String) -> [[String]] {
        let chars = Array(s)
        var out: [[String]] = [chars.map { String($0) }, [s]]
        for i in 1..<chars.count { out.append([String(chars[..<i]), String(chars[i...])]) }
        for i in 1..<chars.count { for j in (i + 1)..<chars.count {
            out.append([String(chars[..<i]), String(chars[i..<j]), String(chars[j...])])
        } }
        return out
    }

    func testStopStringAcrossDeltas() {
        let text = "Hello STOP world"
        for parts in splits(text) {
            var m = StopStringMatcher(["STOP"])
            var emitted = "", stopped = false
            for p in parts where !stopped {
                let r = m.feed(p)
                emitted += r.emit
                stopped = r.stopped
            }
            XCTAssertTrue(stopped, "\(parts)")
            XCTAssertEqual(emitted, "Hello ", "\(parts)")
        }
    }

    func testNoStopEmitsEverything() {
        for parts in splits("a ST b STO") {
            var m = StopStringMatcher(["STOP", "xyz"])
            var emitted = ""
            for p in parts { let r = m.feed(p); XCTAssertFalse(r.stopped); emitted += r.emit }
            emitted += m.finish()
            XCTAssertEqual(emitted, "a ST b STO")
        }
    }

    func testEarliestStopWins() {
        var m = StopStringMatcher(["world", "lo w"])
        let r = m.feed("hello world")
        XCTAssertEqual(r.emit, "hel")
        XCTAssertTrue(r.stopped)
    }
}
