/// One layer's state: attention layers keep a KV cache, Gated DeltaNet layers a recurrent state.
public enum LayerState: Sendable, Equatable {
    case attention(KVCache)
    case recurrent(RecurrentState)
}

/// Everything a model remembers about one sequence. A value: copying it is a snapshot, assigning it back
/// a restore (prefix caching, forking).
public struct SequenceState: Sendable, Equatable {
    public var layers: [LayerState]
    /// Tokens processed so far = position of the next token.
    public var position: Int

    public init(layers: [LayerState], position: Int = 0) {
        self.layers = layers
        self.position = position
    }

    public var byteCount: Int {
        layers.reduce(0) { sum, layer in
            switch layer {
            case .attention(let kv): sum + kv.byteCount
            case .recurrent(let r): sum + r.byteCount
            }
        }
    }
}
