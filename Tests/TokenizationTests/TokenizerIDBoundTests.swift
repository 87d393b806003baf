import Foundation
import XCTest
@testable import Tokenization

/// Regressions for ../shared/fuzz-findings (tokenizer-*): ids in tokenizer.json index the token tables, so an
/// id far past the vocabulary must be a named error before anything is allocated (id 2147483646 once asked
/// for 32 GB), and a negative added-token id is refused.
final class TokenizerIDBoundTests: XCTestCase {
    /// The tiny model's tokenizer.json (511 vocab entries, 1 added token) with `edit` applied to its text.
    func load(_ edit: (String) -> String) throws -> Tokenizer {
        let url = Fixtures.root.appendingPathComponent("models/qwen35-dense-tiny/tokenizer.json")
        let text = edit(try String(contentsOf: url, encoding: .utf8))
        return try Tokenizer(tokenizerJSON: Data(text.utf8), path: "tokenizer.json")
    }

    func assertMalformed(_ edit: (String) -> String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(edit), file: file, line: line) { error in
            guard case TokenizerError.malformed(_, let reason) = error else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertTrue(reason.contains(fragment), reason, file: file, line: line)
        }
    }

    func addedToken(id: String) -> (String) -> String {
        { $0.replacingOccurrences(of: "\"added_tokens\": [", with: "\"added_tokens\": [{\"id\": \(id), \"content\": \"<big>\", \"special\": true}, ") }
    }

    func testFixtureLoads() throws {
        XCTAssertNoThrow(try load { $0 })
    }

    /// tokenizer-tokenize-memory-vocab-id-2147483646
    func testVocabIDFarPastTheVocabulary() {
        assertMalformed({ $0.replacingOccurrences(of: "\"!\": 0,", with: "\"!\": 2147483646,") },
                        "model.vocab[\"!\"] has id 2147483646, beyond the vocabulary")
    }

    /// tokenizer-detokenize-memory-added-token-id-2147483646-detoke, tokenizer-render-memory-…-render
    func testAddedTokenIDFarPastTheVocabulary() {
        assertMalformed(addedToken(id: "2147483646"), "added token <big> has id 2147483646, beyond the vocabulary")
        assertMalformed(addedToken(id: "\(1 << 22)"), "beyond the vocabulary")
    }

    /// README "also seen": an added token with id -1.
    func testNegativeAddedTokenID() {
        assertMalformed(addedToken(id: "-1"), "added token without a valid id and content (id -1)")
    }
}
