/// The state a Gated DeltaNet layer carries between calls (ARCHITECTURE.md §4). It is a fixed-size summary
/// of the whole past: it can be snapshotted and restored (it is a value type), never trimmed.
public struct RecurrentState: Sendable, Equatable {
    /// Pre-conv projected rows `P` of the last K−1 tokens, oldest first: `[K−1, C]`; zeros for a fresh sequence.
    public var conv: [Float]
    /// Delta-rule state S per value head, f32: `[Hv, dk, dv]`.
    public var ssm: [Float]

    public init(convChannels: Int, kernel: Int, valueHeads: Int, keyDim: Int, valueDim: Int) {
        conv = [Float](repeating: 0, count: (kernel - 1) * convChannels)
        ssm = [Float](repeating: 0, count: valueHeads * keyDim * valueDim)
    }

    public var byteCount: Int { (conv.count + ssm.count) * MemoryLayout<Float>.size }
}
