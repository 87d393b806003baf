import XCTest
import JSON
@testable import Grammar

final class SchemaCorpusTests: XCTestCase {
    /// A tiny vocabulary (every single byte) is enough for byte-level acceptance.
    static let byteVocabulary = Vocabulary(tokens: (0..<256).map { [UInt8($0)] })

    func accepts(_ g: CompiledGrammar, bytes: [UInt8]) -> Bool {
        var m = g.matcher()
        for b in bytes where !m.accept(bytes: [b]) { return false }
        return m.isComplete
    }

    func testCorpusByteByByte() throws {
        for c in SchemaCorpus.cases {
            let g = CompiledGrammar(try JSONSchemaCompiler.grammar(try JSONValue.parse(c.schema)), vocabulary: Self.byteVocabulary)
            for doc in c.valid { XCTAssertTrue(accepts(g, bytes: Array(doc.utf8)), "\(c.name): should accept \(doc)") }
            for doc in c.invalid { XCTAssertFalse(accepts(g, bytes: Array(doc.utf8)), "\(c.name): should refuse \(doc)") }
        }
    }

    func testCorpusTokenByTokenWithQwenTokenizer() throws {
        let tok = Fixtures.tokenizer
        for c in SchemaCorpus.cases {
            let g = CompiledGrammar(try JSONSchemaCompiler.grammar(try JSONValue.parse(c.schema)), vocabulary: Fixtures.vocabulary)
            for doc in c.valid {
                var m = g.matcher()
                for id in tok.encode(doc) {
                    XCTAssertTrue(m.allowedTokens()[id], "\(c.name): mask refuses token \(id) in \(doc)")
                    XCTAssertTrue(m.accept(token: id), "\(c.name): matcher refuses token \(id) in \(doc)")
                }
                XCTAssertTrue(m.isComplete, "\(c.name): \(doc) not complete")
            }
            for doc in c.invalid {
                var m = g.matcher()
                var refused = false
                for id in tok.encode(doc) {
                    let inMask = m.allowedTokens()[id]
                    let ok = m.accept(token: id)
                    XCTAssertEqual(inMask, ok, "\(c.name): mask and matcher disagree on \(id) in \(doc)")
                    if !ok { refused = true; break }
                }
                XCTAssertTrue(refused || !m.isComplete, "\(c.name): accepted invalid \(doc)")
            }
        }
    }

    func testUnsupportedKeywordsAreNamed() {
        for (schema, word) in SchemaCorpus.unsupported {
            XCTAssertThrowsError(try JSONSchemaCompiler.grammar(try JSONValue.parse(schema)), schema) { error in
                XCTAssertTrue("\(error)".contains(word), "\(error) should name \(word)")
            }
        }
    }
}

extension SchemaCorpusTests {
    /// `oneOf` is compiled as `anyOf` (README, schema table): exclusivity is not enforced, so a document valid
    /// under two branches is accepted although JSON Schema calls it invalid; one valid under none is refused.
    /// Branches that cannot overlap (distinct types, consts, enums) make the two the same.
    func testOneOfIsAcceptedAsAnyOf() throws {
        let g = CompiledGrammar(try JSONSchemaCompiler.grammar(try JSONValue.parse(#"{"oneOf":[{"type":"integer"},{"type":"number"},{"const":"x"}]}"#)),
                                vocabulary: Self.byteVocabulary)
        XCTAssertTrue(accepts(g, bytes: Array("5".utf8)), "valid under both integer and number: accepted, as documented")
        XCTAssertTrue(accepts(g, bytes: Array("5.5".utf8)))
        XCTAssertTrue(accepts(g, bytes: Array(#""x""#.utf8)))
        XCTAssertFalse(accepts(g, bytes: Array(#""y""#.utf8)), "valid under no branch")
    }
}

extension SchemaCorpusTests {
    /// A schema whose bounded repetitions would expand past `Grammar.maxNodes` is refused while the grammar is
    /// built, before the per-node vocabulary walks (`maxLength: 4096` took ~100 s to compile before the bound);
    /// one just inside stays accepted.
    func testOversizedRepetitionIsRefusedBeforeCompiling() throws {
        let start = Date()
        for schema in [#"{"type":"string","maxLength":100000}"#, #"{"type":"array","items":{"type":"integer"},"minItems":50000}"#] {
            XCTAssertThrowsError(try JSONSchemaCompiler.grammar(try JSONValue.parse(schema)), schema) { error in
                XCTAssertTrue("\(error)".contains("grammar too large"), "\(error)")
            }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "the refusal must come from the bound, not after the work")
        XCTAssertNoThrow(try JSONSchemaCompiler.grammar(try JSONValue.parse(#"{"type":"string","maxLength":200}"#)))
    }
}
