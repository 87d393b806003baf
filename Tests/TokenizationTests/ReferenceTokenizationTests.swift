import XCTest
@testable import Tokenization

/// Every case of `cases.json` and every rendered chat of `chat.json` against HF `tokenizers` 0.23.3.
final class ReferenceTokenizationTests: XCTestCase {
    let tok = Fixtures.qwen35

    func testLoadsTheRealFile() {
        XCTAssertEqual(tok.addedTokens.count, 33)
        XCTAssertEqual(tok.vocabSize, 248077)
        XCTAssertEqual(tok.eosToken, "<|im_end|>")
        XCTAssertEqual(tok.tokenID("<|im_start|>"), 248045)
        XCTAssertEqual(tok.tokenID("Ġthe"), 279)
    }

    func testEncodeEveryCase() {
        var failed: [String] = []
        for c in Fixtures.cases where tok.encode(c.text) != c.ids { failed.append(c.id) }
        XCTAssertEqual(failed, [], "ids differ")
        print("encode: \(Fixtures.cases.count - failed.count)/\(Fixtures.cases.count) cases identical")
    }

    func testTokenSpellings() {
        for c in Fixtures.cases {
            XCTAssertEqual(c.ids.map { tok.token(for: $0) ?? "?" }, c.tokens, c.id)
        }
    }

    func testEncodeWithSplitSpecialTokens() {
        var failed: [String] = [], differing = 0
        for c in Fixtures.cases {
            let expected = c.ids_split_special ?? c.ids
            if c.ids_split_special != nil { differing += 1 }
            if tok.encode(c.text, splitSpecialTokens: true) != expected { failed.append(c.id) }
        }
        XCTAssertGreaterThan(differing, 10, "the fixture exercises split_special_tokens")
        XCTAssertEqual(failed, [], "split-special ids differ")
    }

    func testDecodeAndSkipSpecial() {
        for c in Fixtures.cases {
            XCTAssertEqual(tok.decode(c.ids), c.decoded, c.id)
            XCTAssertEqual(tok.decode(c.ids, skipSpecialTokens: true), c.decoded_skip_special ?? c.decoded, c.id)
        }
    }

    /// One id at a time: the concatenation equals decode(all), for every case (incl. emoji and CJK split over tokens).
    func testStreamingDecodeEqualsDecode() {
        for c in Fixtures.cases {
            for skip in [false, true] {
                var d = StreamingDetokenizer(tokenizer: tok, skipSpecialTokens: skip)
                var text = ""
                for id in c.ids { text += d.append(id) }
                text += d.finish()
                XCTAssertEqual(text, tok.decode(c.ids, skipSpecialTokens: skip), c.id)
            }
        }
    }

    func testEncodeEveryRenderedChat() {
        var n = 0
        for c in Fixtures.chatCases {
            guard let rendered = c.rendered, let ids = c.ids else { continue }
            XCTAssertEqual(tok.encode(rendered), ids, c.id)
            n += 1
        }
        XCTAssertGreaterThan(n, 20)
    }

    /// The 201 ids BPE can never produce stay unproduced, though each is a vocab entry (no whole-piece shortcut).
    func testUnreachableIdsAreNotProducedForTheirOwnText() throws {
        let data = try Data(contentsOf: Fixtures.qwen35Dir.appendingPathComponent("unreachable_token_ids.json"))
        let json = try JSONSerialization.jsonObject(with: data)
        let ids = ((json as? [String: Any])?["ids"] as? [Int]) ?? (json as? [Int]) ?? []
        XCTAssertEqual(ids.count, 201)
        for id in ids.prefix(50) {
            let text = tok.decode([id])
            XCTAssertNotEqual(tok.encode(text), [id], "id \(id)")
        }
    }
}
