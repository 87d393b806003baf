import Foundation
import Grammar
import Tokenization

/// A grammar the reply must follow (JSON Schema, any JSON object, forced tool calls), compiled against the
/// model's vocabulary. Shared by every sequence that uses it; each `SequenceDecoder` runs its own matcher.
public struct TokenConstraint: Sendable {
    public let grammar: CompiledGrammar
    public init(_ grammar: CompiledGrammar) { self.grammar = grammar }
}

extension Vocabulary {
    /// Every token's bytes; special tokens (end-of-turn, vision markers…) get none, so a grammar never admits
    /// them: ending is decided from `GrammarMatcher.isComplete` and the request's stop ids.
    public init(tokenizer: Tokenizer) {
        self.init(tokens: (0..<tokenizer.vocabSize).map { tokenizer.isSpecial($0) ? [] : tokenizer.bytes([$0]) })
    }
}

/// Sets every logit whose id is neither in `allowed` nor in `extra` to -inf (ids past the mask, such as a
/// model's padded vocabulary rows, are never allowed unless in `extra`). Word-at-a-time: a fully allowed word
/// of 64 ids is skipped, so a mask that admits most of the vocabulary costs little.
public func applyTokenMask(_ logits: inout [Float], allowed: TokenMask, extra: Set<Int>) {
    let kept = extra.filter { logits.indices.contains($0) }.map { ($0, logits[$0]) }
    let n = logits.count
    logits.withUnsafeMutableBufferPointer { l in
        for (w, word) in allowed.words.enumerated() where word != ~0 {
            var off = ~word
            while off != 0 {
                let id = w << 6 | off.trailingZeroBitCount
                if id < n { l[id] = -.infinity }
                off &= off - 1
            }
        }
        var id = allowed.words.count * 64
        while id < n { l[id] = -.infinity; id += 1 }
    }
    for (id, value) in kept { logits[id] = value }
}

/// The plain twin of `applyTokenMask`, one id at a time.
public func applyTokenMaskReference(_ logits: inout [Float], allowed: TokenMask, extra: Set<Int>) {
    for id in logits.indices where !(allowed[id] || extra.contains(id)) { logits[id] = -.infinity }
}
