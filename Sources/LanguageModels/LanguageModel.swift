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

    /// Several sequences in one pass (`ids[i]` continuing `states[i]`): the logits of each one's last position,
    /// `[S, V]`. Row i is bit-identical to `forward(ids[i], state: &states[i], allLogits: false)` whatever else
    /// is in the batch; weights are read once for all rows.
    func forwardBatch(_ ids: [[Int]], states: inout [SequenceState]) -> [Float]
}

extension LanguageModel {
    /// One forward per sequence (models without a batched path, e.g. test fakes).
    public func forwardBatch(_ ids: [[Int]], states: inout [SequenceState]) -> [Float] {
        var out: [Float] = []
        for i in ids.indices { out += forward(ids[i], state: &states[i], allLogits: false) }
        return out
    }
}
