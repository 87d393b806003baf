import Foundation

/// PLACEHOLDER parser (lenient); the strict one with named errors replaces it behind the same API.
extension Qwen35Config {
    public static func load(directory: URL) throws -> Qwen35Config {
        let data = try Data(contentsOf: directory.appendingPathComponent("config.json"))
        let top = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let t = (top["text_config"] as? [String: Any]) ?? top
        func int(_ k: String) -> Int? { (t[k] as? NSNumber)?.intValue }
        let rope = t["rope_parameters"] as? [String: Any]
        let L = int("num_hidden_layers")!
        let types = (t["layer_types"] as? [String])?.map { LayerType(rawValue: $0)! }
            ?? (0..<L).map { ($0 + 1) % 4 == 0 ? .fullAttention : .linearAttention }
        let eos: [Int] = (t["eos_token_id"] as? [Int]) ?? [int("eos_token_id")].compactMap { $0 }
        return Qwen35Config(
            modelType: t["model_type"] as! String, vocabSize: int("vocab_size")!, hiddenSize: int("hidden_size")!,
            numHiddenLayers: L, layerTypes: types, rmsNormEps: (t["rms_norm_eps"] as! NSNumber).floatValue,
            tieWordEmbeddings: (top["tie_word_embeddings"] as? Bool) ?? (t["tie_word_embeddings"] as? Bool) ?? false,
            maxPositionEmbeddings: int("max_position_embeddings") ?? 262144,
            numAttentionHeads: int("num_attention_heads")!, numKeyValueHeads: int("num_key_value_heads")!,
            headDim: int("head_dim")!, ropeTheta: (rope?["rope_theta"] as? NSNumber)?.doubleValue ?? 1e7,
            partialRotaryFactor: (rope?["partial_rotary_factor"] as? NSNumber)?.doubleValue ?? 0.25,
            linearNumKeyHeads: int("linear_num_key_heads")!, linearNumValueHeads: int("linear_num_value_heads")!,
            linearKeyHeadDim: int("linear_key_head_dim")!, linearValueHeadDim: int("linear_value_head_dim")!,
            linearConvKernelDim: int("linear_conv_kernel_dim") ?? 4, intermediateSize: int("intermediate_size"),
            numExperts: int("num_experts"), numExpertsPerTok: int("num_experts_per_tok"),
            moeIntermediateSize: int("moe_intermediate_size"),
            sharedExpertIntermediateSize: int("shared_expert_intermediate_size"), eosTokenIds: eos)
    }
}
