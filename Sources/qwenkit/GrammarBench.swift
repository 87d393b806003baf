import Foundation
import Grammar
import InferenceEngine
import JSON
import Tokenization

/// `qwenkit bench --model DIR --grammar Benchmarks/grammar-cases.json`: per case, the time to compile the grammar
/// against the tokenizer's vocabulary and the per-token mask time while walking one valid document token by token
/// (a fresh matcher per run, so only the per-state cache a real decode has), and the time to apply each mask to
/// a row of logits (what a constrained decode step adds beside the mask). `Benchmarks/grammar_xgrammar.py`
/// measures xgrammar on the same cases and tokenizer.
struct GrammarBench {
    let directory: URL
    let casesFile: String
    let runs: Int

    func run() throws -> [String] {
        guard let data = FileManager.default.contents(atPath: casesFile) else { throw CLIError("\(casesFile): cannot read") }
        let tokenizer = try Tokenizer.load(directory: directory)
        var t = Date()
        let vocabulary = Vocabulary(tokenizer: tokenizer)
        var lines = [String(format: "vocabulary %d tokens, trie built in %.3f s", vocabulary.size, Date().timeIntervalSince(t))]
        for c in try JSONValue.parse(data).arrayValue ?? [] {
            let name = c["name"]?.stringValue ?? "?"
            let grammar: Grammar
            let text: String
            if let tools = c["tools"]?.arrayValue {
                grammar = try ToolCallGrammar.grammar(tools: tools.map { ToolCallGrammar.Tool(name: $0["name"]?.stringValue ?? "", parameters: $0["parameters"]) }, mode: .required)
                text = c["xml"]?.stringValue ?? ""
            } else {
                grammar = try JSONSchemaCompiler.grammar(c["schema"] ?? .null)
                text = c["text"]?.stringValue ?? ""
            }
            var compiles: [Double] = [], masks: [Double] = [], applies: [Double] = []
            var logits = (0..<vocabulary.size).map { Float(($0 &* 2_654_435_761) % 1000) / 100 }   // [V]
            var compiled: CompiledGrammar!
            for _ in 0..<max(runs, 1) {
                t = Date()
                compiled = CompiledGrammar(grammar, vocabulary: vocabulary)
                compiles.append(Date().timeIntervalSince(t))
            }
            let ids = tokenizer.encode(text)
            for _ in 0..<max(runs, 1) {
                var m = compiled.matcher()
                for id in ids {
                    t = Date()
                    let mask = m.allowedTokens()
                    masks.append(Date().timeIntervalSince(t))
                    t = Date()
                    var row = logits   // [V]: the copy the decoder masks
                    applyTokenMask(&row, allowed: mask, extra: [])
                    applies.append(Date().timeIntervalSince(t))
                    logits[id] = row[id]   // unchanged (id is allowed); keeps the masked row observable
                    guard mask[id], m.accept(token: id) else { throw CLIError("\(name): the document's token \(id) is refused") }
                }
                guard m.isComplete else { throw CLIError("\(name): the document does not complete the grammar") }
            }
            masks.sort()
            applies.sort()
            let median = masks[masks.count / 2], p95 = masks[min(masks.count - 1, masks.count * 95 / 100)]
            lines.append(String(format: "%@ nodes %6d  compile %8.1f ms  mask median %7.1f µs  p95 %8.1f µs  max %8.1f µs  apply median %6.1f µs  (%d tokens)",
                                name.padding(toLength: 16, withPad: " ", startingAt: 0) as NSString, grammar.nodeCount, compiles.sorted()[compiles.count / 2] * 1e3, median * 1e6, p95 * 1e6,
                                masks.last! * 1e6, applies[applies.count / 2] * 1e6, ids.count))
        }
        return lines
    }
}
