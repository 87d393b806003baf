// libFuzzer target: a JSON Schema (the input, up to an optional 0x01 byte) compiled to a grammar, joined to a
// small vocabulary (every single byte plus some JSON-shaped multi-byte tokens), then a document (the bytes
// after 0x01, else a fixed one) fed token by token through the matcher. At every step the fast mask must equal
// its plain twin (`referenceAllowedTokens`) and `accept` must agree with the mask; a mismatch traps.
import Foundation
import Grammar
import JSON

let vocabulary: Vocabulary = {
    var tokens: [[UInt8]] = (0...255).map { [UInt8($0)] }
    for t in ["{\"", "\":", "\",", "\"}", "\":\"", "true", "false", "null", "12", "-0", ".5", "e+", "  ", ", ", ": ",
              "[]", "{}", "\\u00", "\\\"", "é", "😀", "2024-", "T00:", "@example.com", "<tool_call>", "\n"] {
        tokens.append(Array(t.utf8))
    }
    tokens.append([])   // a special token: never allowed
    return Vocabulary(tokens: tokens)
}()
let fixedDocument = Array(#"{"name": "Ann", "age": 31, "tags": ["a", "b"], "ok": true, "n": null, "x": -1.5e3}"#.utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let split = bytes.firstIndex(of: 1)
    let schemaBytes = split.map { Array(bytes[..<$0]) } ?? bytes
    let document = split.map { Array(bytes[($0 + 1)...]) } ?? fixedDocument
    guard let schema = try? JSONValue.parse(Data(schemaBytes)),
          let grammar = try? JSONSchemaCompiler.grammar(schema, strict: count % 2 == 0) else { return 0 }
    var matcher = CompiledGrammar(grammar, vocabulary: vocabulary).matcher()
    // Greedy tokenization of the document: the longest vocabulary token that the mask allows, else its first
    // byte (which the matcher must then refuse exactly when the mask says so).
    var at = 0, steps = 0
    while at < document.count && steps < 64 {
        steps += 1
        let mask = matcher.allowedTokens()
        precondition(mask == matcher.referenceAllowedTokens(), "fast mask differs from its reference twin")
        var choice = Int(document[at])
        for id in 256..<vocabulary.size where mask[id] {
            let t = vocabulary.tokens[id]
            if t.count > vocabulary.tokens[choice].count, document[at...].starts(with: t) { choice = id }
        }
        let accepted = matcher.accept(token: choice)
        precondition(accepted == mask[choice], "accept(\(choice)) = \(accepted) but the mask says \(mask[choice])")
        guard accepted else { break }
        at += vocabulary.tokens[choice].count
        if steps % 5 == 0 { matcher.rollback(1); at -= vocabulary.tokens[choice].count }
    }
    _ = matcher.isComplete
    return 0
}
