import TensorCore

/// What one sequence's state costs (llama.cpp's hybrid memory = KV ⊕ recurrent): attention KV grows by
/// `kvBytesPerToken` per token of context (K and V of every full-attention layer, in the cache's storage type);
/// the Gated DeltaNet states take `recurrentBytes` whatever the length.
public struct MemoryPlan: Sendable, Equatable {
    public let kvBytesPerToken: Int
    public let recurrentBytes: Int

    public init(kvBytesPerToken: Int, recurrentBytes: Int) {
        self.kvBytesPerToken = kvBytesPerToken
        self.recurrentBytes = recurrentBytes
    }

    /// Measured on an empty state: what its caches' pools and recurrent buffers actually take.
    public init(_ empty: SequenceState) {
        var perToken = 0, fixed = 0
        for layer in empty.layers {
            switch layer {
            case .attention(let kv): perToken += kv.pool.bytesPerToken
            case .recurrent(let r): fixed += r.byteCount
            }
        }
        self.init(kvBytesPerToken: perToken, recurrentBytes: fixed)
    }

    /// Bytes of one sequence holding `tokens` tokens of context.
    public func bytes(tokens: Int) -> Int { recurrentBytes + kvBytesPerToken * tokens }

    /// The longest context one sequence can hold in `budget` bytes (0 when not even the recurrent state fits).
    public func maxTokens(budget: Int) -> Int {
        budget <= recurrentBytes ? 0 : (budget - recurrentBytes) / max(1, kvBytesPerToken)
    }
}

extension Qwen35Config {
    /// The plan from the config alone (no weights): per attention layer K and V `[Hkv, D]` in `kvType`; per
    /// Gated DeltaNet layer the f32 delta-rule state `[Hv, dk, dv]` and the last K−1 conv inputs `[K−1, C]`.
    public func memoryPlan(kvType: KVType) -> MemoryPlan {
        let attention = layerTypes.filter { $0 == .fullAttention }.count
        let deltaNet = layerTypes.count - attention
        let recurrent = linearNumValueHeads * linearKeyHeadDim * linearValueHeadDim + (linearConvKernelDim - 1) * convDim
        return MemoryPlan(kvBytesPerToken: attention * 2 * numKeyValueHeads * kvType.bytes(elements: headDim),
                          recurrentBytes: deltaNet * recurrent * MemoryLayout<Float>.size)
    }
}
