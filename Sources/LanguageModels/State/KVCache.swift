/// Keys (after k_norm and RoPE) and values of one full-attention layer, for positions `0..<count`.
/// Grows with the context; trimming back to a shorter prefix is legal (unlike recurrent state).
public struct KVCache: Sendable, Equatable {
    public let kvHeads: Int
    public let headDim: Int
    /// `[count, Hkv, D]` each, token-major so appending a token is an append.
    public var keys: [Float] = []
    public var values: [Float] = []

    public init(kvHeads: Int, headDim: Int) {
        self.kvHeads = kvHeads
        self.headDim = headDim
    }

    public var count: Int { keys.count / (kvHeads * headDim) }
    public var byteCount: Int { (keys.count + values.count) * MemoryLayout<Float>.size }
}
