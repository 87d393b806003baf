import GGUF
import SafeTensors

// Which checkpoint tensors become which GGUF tensors, in the order llama.cpp writes them: the converter's renaming
// (`_QwenMtpMixin.filter_tensors` in llama.cpp's conversion/qwen.py) that turns the MTP block into extra layers
// after the trunk, and `Qwen2MoeModel.modify_tensors`' stacking of experts stored one per expert.

extension Qwen35GGUFExport {
    /// One GGUF-bound tensor of the checkpoint: a single checkpoint tensor, or the routed experts of a layer that
    /// stores them one per expert (the MTP layer of the MoE checkpoints) stacked into `[E, out, in]`.
    struct SourceTensor: Sendable {
        /// The converter's trunk-style name (`model.layers.<i>.…`) that `Qwen35GGUFSource.ggufName` maps.
        let flat: String
        /// Checkpoint names: one, or one per expert in expert order.
        let parts: [String]
        /// GGUF names written for it (two for the fused `experts.gate_up_proj`).
        let gguf: [String]
        var layer: Int { Qwen35QuantPlan.layerIndex(gguf[0]) ?? -1 }
    }

    /// The checkpoint's tensors under the converter's names: the multimodal wrapper's backbone prefix dropped, and
    /// the MTP block as layer `layers + j` (`mtp.layers.<j>.X` → `model.layers.<L+j>.X`; `mtp.fc` → `eh_proj`,
    /// `mtp.pre_fc_norm_embedding` → `enorm`, `mtp.pre_fc_norm_hidden` → `hnorm`, `mtp.norm` → `shared_head.norm`,
    /// all on layer L).
    static func converterName(_ name: String, layers: Int) -> String {
        if name.hasPrefix("model.language_model.") { return "model." + name.dropFirst("model.language_model.".count) }
        guard name.hasPrefix("mtp.") else { return name }
        let parts = name.split(separator: ".", maxSplits: 3).map(String.init)
        if parts.count == 4, parts[1] == "layers", let j = Int(parts[2]) { return "model.layers.\(layers + j).\(parts[3])" }
        let remap = ["fc": "eh_proj", "pre_fc_norm_embedding": "enorm", "pre_fc_norm_hidden": "hnorm", "norm": "shared_head.norm"]
        if parts.count == 3, let r = remap[parts[1]] { return "model.layers.\(layers).\(r).\(parts[2])" }
        return name
    }

    /// MTP layers in the checkpoint (`mtp.layers.<j>.*`): the converter's `opt_num_mtp_layers`.
    static func mtpLayerCount(_ names: some Sequence<String>) -> Int {
        names.reduce(0) { n, name in
            guard name.hasPrefix("mtp.layers.") else { return n }
            return max(n, (Int(name.dropFirst("mtp.layers.".count).prefix { $0 != "." }) ?? -1) + 1)
        }
    }

    /// Every tensor the GGUF gets, sorted as `llama-quantize` writes them (layer, then GGUF name; non-layer tensors
    /// first: `llama_model_loader::weight_name_comparer`). The vision tower is not written.
    static func sourceTensors(store: WeightStore, config c: Qwen35Config) throws -> [SourceTensor] {
        var singles: [(flat: String, name: String)] = []
        var experts: [String: [Int: String]] = [:]   // stacked flat name → expert → checkpoint name
        for name in store.entries.keys where name.hasPrefix("mtp.") || !Qwen35Checkpoint.isSkipped(name) {
            let flat = converterName(name, layers: c.numHiddenLayers)
            // model.layers.<i>.mlp.experts.<e>.<proj>.weight
            let p = flat.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if p.count == 8, p[3] == "mlp", p[4] == "experts", let e = Int(p[5]) {
                experts["model.layers.\(p[2]).mlp.experts.\(p[6]).weight", default: [:]][e] = name
            } else {
                singles.append((flat, name))
            }
        }
        var out: [SourceTensor] = []
        func gguf(_ flat: String, _ name: String) throws -> [String] {
            guard let g = Qwen35GGUFSource.ggufName(flat) else {
                throw GGUFError.invalidTensor(file: store.source, tensor: name, reason: "no GGUF name (as \(flat))")
            }
            return g.hasSuffix("ffn_gate_exps.weight") && flat.hasSuffix("gate_up_proj")
                ? [g, g.replacingOccurrences(of: "gate_exps", with: "up_exps")] : [g]
        }
        for s in singles { out.append(SourceTensor(flat: s.flat, parts: [s.name], gguf: try gguf(s.flat, s.name))) }
        for (flat, byExpert) in experts {
            let n = c.numExperts ?? 0
            let parts = (0..<n).compactMap { byExpert[$0] }
            guard byExpert.count == n, parts.count == n else {
                let some = byExpert.values.sorted().first ?? flat
                throw GGUFError.invalidTensor(file: store.source, tensor: some,
                                              reason: "experts \(byExpert.keys.sorted()) of \(flat): expected 0..<\(n)")
            }
            out.append(SourceTensor(flat: flat, parts: parts, gguf: try gguf(flat, parts[0])))
        }
        return out.sorted { ($0.layer, $0.gguf[0]) < ($1.layer, $1.gguf[0]) }
    }

    /// `full_attention_interval` as the converter writes it (`hparams.get("full_attention_interval", 4)`): the
    /// config keeps only the layer types, whose pattern has that period.
    static func fullAttentionInterval(_ types: [Qwen35Config.LayerType]) -> Int {
        guard let first = types.firstIndex(of: .fullAttention) else { return 4 }
        let k = first + 1
        let periodic = types.indices.allSatisfy { types[$0] == (($0 + 1) % k == 0 ? .fullAttention : .linearAttention) }
        return periodic ? k : 4
    }
}
