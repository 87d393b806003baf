import Kernels
import SafeTensors
import TensorCore

/// One pre-norm residual decoder layer (ARCHITECTURE.md §3; transformers `Qwen3_5DecoderLayer`):
/// `h += mixer(norm(h))`, `h += ffn(norm(h))`, where the mixer is Gated DeltaNet or gated attention by the
/// layer schedule and the FFN is the dense SwiGLU or the sparse MoE by model type.
struct Qwen35DecoderLayer: Sendable {
    enum Mixer: Sendable {
        case linear(GatedDeltaNet)
        case full(GatedAttention)
    }
    enum FeedForward: Sendable {
        case dense(SwiGLU)
        case sparse(SparseMoE)
    }

    let inputNorm: RMSNorm
    let mixer: Mixer
    let postAttentionNorm: RMSNorm
    let ffn: FeedForward

    init(index i: Int, config: Qwen35Config, checkpoint: Qwen35Checkpoint, store: any WeightSource) throws {
        let p = checkpoint.layer(i), h = config.hiddenSize
        inputNorm = try RMSNorm(store: store, name: p + "input_layernorm.weight", dim: h, eps: config.rmsNormEps)
        postAttentionNorm = try RMSNorm(store: store, name: p + "post_attention_layernorm.weight", dim: h, eps: config.rmsNormEps)
        switch config.layerTypes[i] {
        case .linearAttention: mixer = .linear(try GatedDeltaNet(config: config, store: store, prefix: p + "linear_attn."))
        case .fullAttention: mixer = .full(try GatedAttention(config: config, store: store, prefix: p + "self_attn."))
        }
        if config.isMoE {
            ffn = .sparse(try SparseMoE(config: config, store: store, prefix: p + "mlp."))
        } else {
            guard let width = config.intermediateSize else {
                throw WeightStoreError.message("config: intermediate_size missing for a dense model")
            }
            ffn = .dense(try SwiGLU(store: store, prefix: p + "mlp.", hidden: h, intermediate: width))
        }
    }

    func makeState(kvType: KVType) -> LayerState {
        switch mixer {
        case .linear(let gdn): .recurrent(gdn.makeState())
        case .full(let attn): .attention(attn.makeCache(type: kvType))
        }
    }

    /// Advances the residual stream `h` (`[ΣT, H]`, the rows of `segments`) through this layer, updating each
    /// segment's state in `states`. `record` (tests only) receives the block boundaries named as in the
    /// reference fixtures.
    func forward(_ h: inout [Float], segments: Segments, states: inout [LayerState], pool: ThreadPool,
                 record: ((String, [Float]) -> Void)?) {
        let t = segments.total, rowwise = segments.rowwise
        let a = inputNorm(h)                                   // [T, H]
        let mixed: [Float]                                     // [T, H]
        // States are moved out, advanced and put back, so that their buffers stay uniquely referenced and are
        // written in place. (Matching on a `(mixer, state)` tuple kept a second reference alive and copied the
        // 1 MiB delta state of every GDN layer on every token.)
        switch mixer {
        case .linear(let gdn):
            var rs: [RecurrentState] = states.indices.map { i in
                guard case .recurrent(let r) = states[i] else { preconditionFailure("layer state does not match the layer's mixer") }
                states[i] = .recurrent(RecurrentState.empty)
                return r
            }
            mixed = gdn.forward(a, segments: segments, states: &rs, pool: pool).out
            for i in states.indices { states[i] = .recurrent(rs[i]) }
        case .full(let attn):
            var kvs: [KVCache] = states.indices.map { i in
                guard case .attention(let kv) = states[i] else { preconditionFailure("layer state does not match the layer's mixer") }
                states[i] = .attention(KVCache(pool: kv.pool))
                return kv
            }
            mixed = attn.forward(a, segments: segments, caches: &kvs, pool: pool, trace: nil)
            for i in states.indices { states[i] = .attention(kvs[i]) }
        }
        for i in 0..<h.count { h[i] += mixed[i] }
        let f = postAttentionNorm(h)                           // [T, H]
        let y: [Float]                                         // [T, H]
        switch ffn {
        case .dense(let mlp): y = mlp(f, tokens: t, rowwise: rowwise, pool: pool)
        case .sparse(let moe): y = moe(f, tokens: t, rowwise: rowwise, pool: pool)
        }
        for i in 0..<h.count { h[i] += y[i] }
        if let record {
            record("input_norm", a); record("mixer_out", mixed); record("post_attn_norm", f)
            record("mlp_out", y); record("out", h)
        }
    }
}

extension RecurrentState {
    /// An empty placeholder, used while a layer's real state is borrowed for in-place mutation.
    static let empty = RecurrentState(convChannels: 0, kernel: 1, valueHeads: 0, keyDim: 0, valueDim: 0)
}
