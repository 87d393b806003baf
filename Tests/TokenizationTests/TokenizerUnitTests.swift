import XCTest
@testable import Tokenization

/// The pieces on their own: BPE twins, the pre-tokenizer regex, the streaming UTF-8 boundary, and bad files.
final class TokenizerUnitTests: XCTestCase {
    let tok = Fixtures.qwen35

    /// The heap merge (long pieces) and the scan merge (short pieces) give the same ids on random byte strings.
    func testHeapAndScanMergesAgree() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("aaabbbeeeinnorsttt ĠÄ€あ的 1\n".utf8)
        for length in [2, 3, 7, 31, 64, 257, 600] {
            for _ in 0..<20 {
                let bytes = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
                var a = bytes.map { tok.bpe.byteIDs[Int($0)] }, b = a
                tok.bpe.mergeByScan(&a)
                tok.bpe.mergeByHeap(&b)
                XCTAssertEqual(a, b, "length \(length)")
            }
        }
    }

    /// A long piece (one 20 000-letter word) goes through the heap path and decodes back.
    func testLongPieceRoundTrips() {
        let text = String(repeating: "abcdefghij", count: 2000)
        let ids = tok.encode(text)
        XCTAssertLessThan(ids.count, 20000)
        XCTAssertEqual(tok.decode(ids), text)
    }

    func testRegexPieces() {
        func pieces(_ s: String) -> [String] {
            let scalars = Array(s.unicodeScalars)
            var out: [String] = []
            scalars.withUnsafeBufferPointer { buf in
                tok.splitter!.split(buf) { a, b in
                    var v = String.UnicodeScalarView(); v.append(contentsOf: scalars[a..<b]); out.append(String(v))
                }
            }
            return out
        }
        XCTAssertEqual(pieces("I'M here, they'll go"), ["I", "'M", " here", ",", " they", "'ll", " go"])
        XCTAssertEqual(pieces("x  \n\n  y"), ["x", "  \n\n", " ", " y"])
        XCTAssertEqual(pieces("a   b"), ["a", "  ", " b"])
        XCTAssertEqual(pieces("end   "), ["end", "   "])
        XCTAssertEqual(pieces("1234"), ["1", "2", "3", "4"])
        XCTAssertEqual(pieces(" !!\n\nok"), [" !!\n\n", "ok"])
        XCTAssertEqual(pieces("e\u{301}t\u{E9}"), ["e\u{301}t\u{E9}"])        // marks stay in the word
    }

    /// The UTF-8 tail rule: hold a valid unfinished character, never bytes that cannot become valid.
    func testIncompleteTail() {
        XCTAssertEqual(StreamingDetokenizer.incompleteTail([0x61]), 0)
        XCTAssertEqual(StreamingDetokenizer.incompleteTail([0x61, 0xE4]), 1)
        XCTAssertEqual(StreamingDetokenizer.incompleteTail([0xE4, 0xB8]), 2)
        XCTAssertEqual(StreamingDetokenizer.incompleteTail([0xE4, 0xB8, 0xAD]), 0)
        XCTAssertEqual(StreamingDetokenizer.incompleteTail([0xF0, 0x9F, 0x98]), 3)
        XCTAssertEqual(StreamingDetokenizer.incompleteTail([0xED, 0xA0]), 0)       // would be a surrogate
        XCTAssertEqual(StreamingDetokenizer.incompleteTail([0xFF]), 0)
        XCTAssertEqual(StreamingDetokenizer.incompleteTail([0x80, 0x80, 0x80]), 0)
    }

    /// Every byte fed as its own token (the worst split), through ids of single bytes.
    func testStreamingOverSingleByteTokens() {
        let text = "héllo 世界 🎉 e\u{301}"
        let ids = Array(text.utf8).map { Int(tok.bpe.byteIDs[Int($0)]) }
        var d = StreamingDetokenizer(tokenizer: tok)
        var parts: [String] = []
        for id in ids { parts.append(d.append(id)) }
        parts.append(d.finish())
        XCTAssertEqual(parts.joined(), text)
        XCTAssertTrue(parts.allSatisfy { !$0.contains("\u{FFFD}") })
        // Stray continuation bytes decode as U+FFFD exactly as decode() does.
        let bad = [Int(tok.bpe.byteIDs[0x80]), Int(tok.bpe.byteIDs[0x61]), Int(tok.bpe.byteIDs[0xE4])]
        var e = StreamingDetokenizer(tokenizer: tok)
        let streamed = bad.map { e.append($0) }.joined() + e.finish()
        XCTAssertEqual(streamed, tok.decode(bad))
        XCTAssertEqual(streamed, "\u{FFFD}a\u{FFFD}")
    }

    func testTinyModelTokenizerLoads() throws {
        let t = try Tokenizer.load(directory: Fixtures.root.appendingPathComponent("models/qwen35-dense-tiny"))
        let text = "Hello world"
        XCTAssertEqual(t.decode(t.encode(text)), text)
    }

    // MARK: Bad input

    private func loadError(_ json: String) -> String {
        do { _ = try Tokenizer(tokenizerJSON: Data(json.utf8)); return "no error" } catch { return "\(error)" }
    }

    func testTruncatedAndMalformedFiles() throws {
        let real = try Data(contentsOf: Fixtures.qwen35Dir.appendingPathComponent("tokenizer.json"))
        let truncated = real.prefix(real.count / 2)
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: truncated)) { e in
            XCTAssertTrue("\(e)".contains("malformed") && "\(e)".contains("truncated"), "\(e)")
        }
        XCTAssertTrue(loadError("[1, 2").contains("truncated"))
        XCTAssertTrue(loadError("{\"model\": 3}").contains("model.vocab"))
        XCTAssertTrue(loadError("{").contains("malformed"))
        XCTAssertTrue(loadError("").contains("malformed"))
    }

    func testInvalidUTF8InTheFile() {
        var bytes = Array("{\"model\": {\"vocab\": {\"".utf8)
        bytes += [0xFF, 0xFE]
        bytes += Array("\": 0}}}".utf8)
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: Data(bytes))) { e in
            XCTAssertTrue("\(e)".contains("invalid UTF-8"), "\(e)")
        }
    }

    func testUnsupportedComponentsAreNamed() throws {
        let base = #"{"model": {"type": "WordPiece", "vocab": {}}}"#
        XCTAssertTrue(loadError(base).contains("WordPiece"))
        // A real file with one component swapped: the error names that component.
        let real = try String(contentsOf: Fixtures.root.appendingPathComponent("models/qwen35-dense-tiny/tokenizer.json"), encoding: .utf8)
        let swapped = real.replacingOccurrences(of: #""type": "NFC""#, with: #""type": "Precompiled""#)
        XCTAssertNotEqual(swapped, real)
        XCTAssertTrue(loadError(swapped).contains("normalizer Precompiled"), loadError(swapped))
        let regex = real.replacingOccurrences(of: #"\\s+(?!\\S)|\\s+"#, with: #"\\s+"#)
        XCTAssertNotEqual(regex, real)
        XCTAssertTrue(loadError(regex).contains("regex"), loadError(regex))
    }

    func testMissingFileNamesThePath() {
        XCTAssertThrowsError(try Tokenizer.load(directory: URL(fileURLWithPath: "/nonexistent/model"))) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/model/tokenizer.json"), "\(e)")
        }
    }
}
