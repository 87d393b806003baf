import Foundation

/// What the engine needs from a causal language model; models never know about requests.
public protocol LanguageModel: AnyObject, Sendable {
    /// Rows of the output logits.
    var vocabSize: Int { get }
    /// Longest context (prompt + generated) the model accepts.
    var maxContextLength: Int { get }
    /// End-of-sequence ids from the model's config.
    var eosTokenIds: [Int] { get }

    /// A fresh, empty per-sequence state (KV caches + recurrent states).
    func makeState() -> SequenceState

    /// Runs `ids` (continuing at `state.position`) through the model, advancing `state`.
    /// Returns `[ids.count, vocab]` logits when `allLogits`, else `[1, vocab]` for the last position.
    func forward(_ ids: [Int], state: inout SequenceState, allLogits: Bool) -> [Float]
}
