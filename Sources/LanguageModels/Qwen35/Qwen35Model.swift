import Foundation
import Kernels
import GGUF
import SafeTensors
import TensorCore

/// A Qwen3.5 text model, dense or MoE (ARCHITECTURE.md §3): embedding → L hybrid decoder layers →
/// final zero-centred norm → lm_head (or the tied embedding). Weights stay memory-mapped in their stored dtype.
public final class Qwen35Model: LanguageModel, @unchecked Sendable {
    public let config: Qwen35Config
    let checkpoint: Qwen35Checkpoint
    let embedding: WeightTensor      // [V, H]
    let layers: [Qwen35DecoderLayer]
    let finalNorm: RMSNorm
    let lmHead: WeightTensor         // [V, H]; the embedding itself when tied
    /// The weight source keeps the file mappings alive (weights are views into them).
    public let weights: any WeightSource
    /// How `makeState()` stores attention K and V (`--kv-type`).
    public let kvType: KVType

    /// Loads `config.json` and the safetensors weights of `directory`, strictly: every tensor is taken with
    /// its expected shape, `mtp.*` / `model.visual.*` are skipped by rule, anything else left over is an error.
    public convenience init(directory: URL, kvType: KVType = .f32,
                            progress: (@Sendable (WeightStore.Progress) -> Void)? = nil) throws {
        let config = try Qwen35Config.load(directory: directory)
        let store = try WeightStore(directory: directory, progress: progress)
        try self.init(config: config, store: store, kvType: kvType)
    }

    /// Loads a GGUF file of architecture `qwen35` / `qwen35moe` (llama.cpp's converter layout): the config
    /// from its metadata, the weights through `Qwen35GGUFSource`, as strictly as the safetensors path.
    public convenience init(gguf url: URL, kvType: KVType = .f32) throws {
        try self.init(gguf: GGUFFile(path: url.path), kvType: kvType)
    }

    public convenience init(gguf file: GGUFFile, kvType: KVType = .f32) throws {
        let config = try Qwen35Config.load(gguf: file)
        try self.init(config: config, store: Qwen35GGUFSource(file: file, config: config), kvType: kvType)
    }

    /// `kvType` must fit the attention head (q8_0 needs head_dim a multiple of 32): an error naming both if not.
    public init(config: Qwen35Config, store: any WeightSource, kvType: KVType = .f32) throws {
        try kvType.check(headDim: config.headDim)
        self.kvType = kvType
        self.config = config
        weights = store
        let checkpoint = Qwen35Checkpoint(config: config)
        self.checkpoint = checkpoint
        let v = config.vocabSize, h = config.hiddenSize
        embedding = try store.take(checkpoint.embedTokens, shape: [v, h])
        layers = try (0..<config.numHiddenLayers).map {
            try Qwen35DecoderLayer(index: $0, config: config, checkpoint: checkpoint, store: store)
        }
        finalNorm = try RMSNorm(store: store, name: checkpoint.finalNorm, dim: h, eps: config.rmsNormEps)
        if config.tieWordEmbeddings {
            lmHead = embedding
            if store.contains(checkpoint.lmHead) { _ = try store.take(checkpoint.lmHead, shape: [v, h]) }
        } else {
            lmHead = try store.take(checkpoint.lmHead, shape: [v, h])
        }
        store.skip(where: Qwen35Checkpoint.isSkipped)
        try store.finish()
    }

    public var vocabSize: Int { config.vocabSize }
    public var maxContextLength: Int { config.contextLength }
    public var eosTokenIds: [Int] { config.eosTokenIds }

    public func makeState() -> SequenceState { makeState(kvType: kvType) }

    /// A state whose KV caches store `kvType` (another type than the model's: fidelity measurements, tests).
    public func makeState(kvType: KVType) -> SequenceState {
        SequenceState(layers: layers.map { $0.makeState(kvType: kvType) })
    }

    public func forward(_ ids: [Int], state: inout SequenceState, allLogits: Bool) -> [Float] {
        var states = [state]
        state = SequenceState(layers: [], position: 0)
        defer { state = states[0] }
        return forward([ids], states: &states, allLogits: allLogits, pool: .shared, record: nil)
    }

    public func forwardBatch(_ ids: [[Int]], states: inout [SequenceState]) -> [Float] {
        forward(ids, states: &states, allLogits: false, pool: .shared, record: nil)
    }

    /// The forward pass over one or more sequences (`ids[i]` continuing `states[i]`), their rows stacked:
    /// logits `[ΣT, V]` when `allLogits`, else the last row of each sequence `[S, V]`. `record` (tests only)
    /// receives `embed`, `L<i>.<block>` and `final_norm` activations.
    func forward(_ ids: [[Int]], states: inout [SequenceState], allLogits: Bool, pool: ThreadPool,
                 record: ((String, [Float]) -> Void)?) -> [Float] {
        precondition(states.count == ids.count, "\(states.count) states for \(ids.count) sequences")
        let segments = Segments(ids.map(\.count), starts: states.map(\.position)), hd = config.hiddenSize
        for state in states {
            precondition(state.layers.count == layers.count, "state has \(state.layers.count) layers, model \(layers.count)")
        }
        for (s, n) in segments.counts.enumerated() {
            // Callers check prompts against `maxContextLength`; this is the last guard before any compute.
            precondition(n <= config.contextLength - states[s].position,
                         "positions \(states[s].position)..<\(states[s].position + n) pass the model's context of \(config.contextLength)")
        }
        let flat = ids.flatMap { $0 }
        for id in flat { precondition(id >= 0 && id < config.vocabSize, "token id \(id) outside the vocabulary") }
        var h = embeddingLookup(embedding, ids: flat)           // [ΣT, H]
        record?("embed", h)
        for (i, layer) in layers.enumerated() {
            var layerStates: [LayerState] = states.indices.map { s in   // moved out: see Qwen35DecoderLayer
                let st = states[s].layers[i]
                states[s].layers[i] = .recurrent(RecurrentState.empty)
                return st
            }
            layer.forward(&h, segments: segments, states: &layerStates, pool: pool,
                          record: record.map { r in { name, x in r("L\(i).\(name)", x) } })
            for s in states.indices { states[s].layers[i] = layerStates[s] }
        }
        for (s, n) in segments.counts.enumerated() { states[s].position += n }
        var last: [Float]                                      // [ΣT or S, H]
        if allLogits {
            last = h
        } else {
            last = []
            last.reserveCapacity(segments.count * hd)
            for (r0, n) in segments.ranges { last += h[((r0 + n - 1) * hd)..<((r0 + n) * hd)] }
        }
        finalNorm.apply(&last)
        record?("final_norm", last)
        return matmul(last, lmHead, tokens: last.count / hd, rowwise: segments.rowwise, pool: pool)   // [ΣT or S, V]
    }
}
