import GGUF

// The model config from GGUF metadata, as llama.cpp's converter writes it (`Qwen3NextModel.set_gguf_parameters`,
// read back by `llama_model_qwen35*::load_arch_hparams`). Keys are `<arch>.<field>`; required ones missing or
// mistyped are errors naming the key.
extension Qwen35Config {
    /// The GGUF `general.architecture` values this loader accepts.
    public static let supportedGGUFArchitectures = ["qwen35", "qwen35moe"]

    public static func load(gguf f: GGUFFile) throws -> Qwen35Config {
        let arch = try f.string("general.architecture")
        guard supportedGGUFArchitectures.contains(arch) else {
            throw Qwen35ConfigError.unsupportedModelType(file: f.path, modelType: arch)
        }
        func int(_ k: String) throws -> Int { try f.int("\(arch).\(k)") }
        func optInt(_ k: String) -> Int? { f.metadata["\(arch).\(k)"]?.int }
        // Values that are divided by or counted up to here, before `validate()` sees the config: positive and
        // within the config's size limit (`field`), so no division by zero, overflow or huge loop comes first.
        func count(_ k: String, field: String, _ value: Int? = nil) throws -> Int {
            let v = try value ?? int(k)
            let limit = Self.sizeLimits[field] ?? Int(Int32.max)
            guard v > 0, v <= limit else {
                throw GGUFError.invalidMetadata(file: f.path, key: "\(arch).\(k)", reason: "must be in 1…\(limit), found \(v)")
            }
            return v
        }
        let moe = arch == "qwen35moe"
        // block_count includes the MTP blocks appended after the trunk.
        let mtp = optInt("nextn_predict_layers") ?? 0
        guard (0...64).contains(mtp) else {
            throw GGUFError.invalidMetadata(file: f.path, key: "\(arch).nextn_predict_layers", reason: "must be in 0…64, found \(mtp)")
        }
        let layers = try count("block_count", field: "num_hidden_layers", max(try int("block_count"), 0) - mtp)
        let heads = try count("attention.head_count", field: "num_attention_heads")
        let headDim = try optInt("attention.key_length") ?? int("embedding_length") / heads
        let valueHeads = try count("ssm.time_step_rank", field: "linear_num_value_heads")
        let layerTypes: [LayerType]
        if let recurrent = f.metadata["\(arch).attention.recurrent_layers"]?.array {
            guard recurrent.count >= layers, recurrent.allSatisfy({ $0.bool != nil }) else {
                throw GGUFError.missingKey(file: f.path, key: "\(arch).attention.recurrent_layers", expected: "\(layers) bools")
            }
            layerTypes = recurrent.prefix(layers).map { $0.bool! ? .linearAttention : .fullAttention }
        } else {
            let interval = try count("full_attention_interval", field: "num_hidden_layers", optInt("full_attention_interval") ?? 4)
            layerTypes = (0..<layers).map { ($0 + 1) % interval == 0 ? .fullAttention : .linearAttention }
        }
        guard let embd = f.tensor("token_embd.weight"), embd.shape.count == 2 else {
            throw GGUFError.invalidTensor(file: f.path, tensor: "token_embd.weight", reason: "missing or not 2-D")
        }
        var eos: [Int] = []
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"] {
            if let id = f.metadata[key]?.int, !eos.contains(id) { eos.append(id) }
        }
        let config = Qwen35Config(
            modelType: moe ? "qwen3_5_moe_text" : "qwen3_5_text", vocabSize: embd.shape[0],
            hiddenSize: try int("embedding_length"), numHiddenLayers: layers, layerTypes: layerTypes,
            rmsNormEps: Float(try f.double("\(arch).attention.layer_norm_rms_epsilon")),
            tieWordEmbeddings: f.tensorIndex["output.weight"] == nil,
            maxPositionEmbeddings: try int("context_length"),
            numAttentionHeads: heads, numKeyValueHeads: try int("attention.head_count_kv"), headDim: headDim,
            ropeTheta: try f.double("\(arch).rope.freq_base"),
            partialRotaryFactor: Double(try int("rope.dimension_count")) / Double(headDim),
            linearNumKeyHeads: try int("ssm.group_count"), linearNumValueHeads: valueHeads,
            linearKeyHeadDim: try int("ssm.state_size"), linearValueHeadDim: try int("ssm.inner_size") / valueHeads,
            linearConvKernelDim: try int("ssm.conv_kernel"),
            intermediateSize: moe ? nil : try int("feed_forward_length"),
            numExperts: moe ? try int("expert_count") : nil, numExpertsPerTok: moe ? try int("expert_used_count") : nil,
            moeIntermediateSize: moe ? try int("expert_feed_forward_length") : nil,
            sharedExpertIntermediateSize: moe ? try int("expert_shared_feed_forward_length") : nil,
            eosTokenIds: eos,
            ropeScaling: try ropeScaling(gguf: f, arch: arch, contextLength: try int("context_length")))
        try config.validate()
        return config
    }
}
