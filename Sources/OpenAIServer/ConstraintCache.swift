import Foundation
import Grammar
import InferenceEngine
import Tokenization

/// Compiled grammars by key (the request's schema or tools as canonical JSON), so that a client sending the same
/// schema again skips the compile; the vocabulary is built once, on first use.
final class ConstraintCache: @unchecked Sendable {   // every field is guarded by `lock`
    private let tokenizer: Tokenizer
    private let lock = NSLock()
    private var vocabulary: Vocabulary?
    private var entries: [String: TokenConstraint] = [:]
    private var order: [String] = []
    /// Most grammars kept (each holds its token tables: a few MB at most).
    static let capacity = 32

    init(tokenizer: Tokenizer) { self.tokenizer = tokenizer }

    func constraint(_ grammar: Grammar, key: String) -> TokenConstraint {
        lock.lock()
        if let hit = entries[key] { lock.unlock(); return hit }
        let vocab = vocabulary ?? Vocabulary(tokenizer: tokenizer)
        vocabulary = vocab
        lock.unlock()
        let compiled = TokenConstraint(CompiledGrammar(grammar, vocabulary: vocab))
        lock.lock()
        defer { lock.unlock() }
        if entries[key] == nil {
            entries[key] = compiled
            order.append(key)
            if order.count > Self.capacity { entries[order.removeFirst()] = nil }
        }
        return compiled
    }
}
