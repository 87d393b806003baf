import Foundation
import GGUF
import Kernels
import TensorCore

// Qwen3.5 from a GGUF file as llama.cpp's converter writes it (`conversion/qwen.py`: `Qwen3NextModel`,
// `_LinearAttentionVReorderBase`, `Qwen2MoeModel`; tensor shapes from `src/models/qwen35*.cpp`). The
// layers ask for checkpoint names and shapes; this file is the one place that knows the GGUF names and
// undoes the converter's layout changes (ARCHITECTURE.md §2.7), each a named rule in `Qwen35GGUFLayout`.

/// What llama.cpp's converter changed relative to the transformers checkpoint.
public struct Qwen35GGUFLayout: Sendable, Equatable {
    /// Every `*norm.weight` except `linear_attn.norm.weight` is stored as `1 + w` (`data_torch + 1`).
    public var normsIncludeOne = true
    /// `A_log` is stored as `ssm_a = -exp(A_log)`.
    public var aIsNegExp = true
    /// For Hv > Hk the V heads are in tiled order (value head h pairs with key head h % Hk).
    public var vHeadsTiled = true
    /// Routed experts are stored as separate `ffn_gate_exps` / `ffn_up_exps` (`[E, Im, H]` each).
    public var expertsSplit = true
}

/// A `WeightSource` over one GGUF file of architecture `qwen35` or `qwen35moe`.
public final class Qwen35GGUFSource: WeightSource, @unchecked Sendable {
    public let file: GGUFFile
    public let config: Qwen35Config
    public let layout = Qwen35GGUFLayout()
    public var source: String { file.path }
    private let lock = NSLock()
    private var consumed: Set<String> = []

    public init(file: GGUFFile, config: Qwen35Config) {
        self.file = file
        self.config = config
    }

    // MARK: - Name map

    /// The GGUF tensor that holds checkpoint tensor `name` (nil for names outside the map).
    static func ggufName(_ name: String) -> String? {
        switch name {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        guard name.hasPrefix("model.layers.") else { return nil }
        let rest = name.dropFirst("model.layers.".count)
        guard let dot = rest.firstIndex(of: "."), let i = Int(rest[..<dot]) else { return nil }
        let suffix = String(rest[rest.index(after: dot)...])
        let table: [String: String] = [
            "input_layernorm.weight": "attn_norm.weight",
            "post_attention_layernorm.weight": "post_attention_norm.weight",
            "linear_attn.in_proj_qkv.weight": "attn_qkv.weight",
            "linear_attn.in_proj_z.weight": "attn_gate.weight",
            "linear_attn.in_proj_b.weight": "ssm_beta.weight",
            "linear_attn.in_proj_a.weight": "ssm_alpha.weight",
            "linear_attn.out_proj.weight": "ssm_out.weight",
            "linear_attn.conv1d.weight": "ssm_conv1d.weight",
            "linear_attn.A_log": "ssm_a",
            "linear_attn.dt_bias": "ssm_dt.bias",
            "linear_attn.norm.weight": "ssm_norm.weight",
            "self_attn.q_proj.weight": "attn_q.weight",
            "self_attn.k_proj.weight": "attn_k.weight",
            "self_attn.v_proj.weight": "attn_v.weight",
            "self_attn.o_proj.weight": "attn_output.weight",
            "self_attn.q_norm.weight": "attn_q_norm.weight",
            "self_attn.k_norm.weight": "attn_k_norm.weight",
            "mlp.gate_proj.weight": "ffn_gate.weight",
            "mlp.up_proj.weight": "ffn_up.weight",
            "mlp.down_proj.weight": "ffn_down.weight",
            "mlp.gate.weight": "ffn_gate_inp.weight",
            "mlp.experts.gate_up_proj": "ffn_gate_exps.weight",   // + ffn_up_exps.weight
            "mlp.experts.down_proj": "ffn_down_exps.weight",
            "mlp.shared_expert.gate_proj.weight": "ffn_gate_shexp.weight",
            "mlp.shared_expert.up_proj.weight": "ffn_up_shexp.weight",
            "mlp.shared_expert.down_proj.weight": "ffn_down_shexp.weight",
            "mlp.shared_expert_gate.weight": "ffn_gate_inp_shexp.weight",
            // Experts stored one per expert (the MoE checkpoints' MTP layer), stacked by the converter.
            "mlp.experts.gate_proj.weight": "ffn_gate_exps.weight",
            "mlp.experts.up_proj.weight": "ffn_up_exps.weight",
            "mlp.experts.down_proj.weight": "ffn_down_exps.weight",
            // The MTP block's own tensors under the converter's layer-L names (`Qwen35GGUFExport.converterName`).
            "eh_proj.weight": "nextn.eh_proj.weight",
            "enorm.weight": "nextn.enorm.weight",
            "hnorm.weight": "nextn.hnorm.weight",
            "shared_head.norm.weight": "nextn.shared_head_norm.weight",
        ]
        return table[suffix].map { "blk.\(i).\($0)" }
    }

    // MARK: - WeightSource

    public func contains(_ name: String) -> Bool { Self.ggufName(name).map { file.tensorIndex[$0] != nil } ?? false }

    /// ffn_gate_exps and ffn_up_exps as they are mapped (the model never asks for the fused copy `take` makes).
    public func takeExpertGateUp(_ name: String, experts: Int, width: Int, hidden: Int) throws -> ExpertGateUp {
        guard let g = Self.ggufName(name), g.hasSuffix("ffn_gate_exps.weight") else {
            throw GGUFError.invalidTensor(file: source, tensor: name, reason: "not a routed experts' gate_up tensor")
        }
        let half = [experts, width, hidden]
        return .split(gate: packed(try stored(g, shape: half), name: name),
                      up: packed(try stored(g.replacingOccurrences(of: "gate_exps", with: "up_exps"), shape: half), name: name))
    }

    public func take(_ name: String, shape: [Int]) throws -> WeightTensor {
        packed(try takeStored(name, shape: shape), name: name)
    }

    /// Quantised projection weights get the repacked copy the integer kernels read (`packedForMatmul`), and
    /// their mapped pages are released so that RSS counts the weights once. The embedding is read by row, not
    /// by matmul: it is packed only when it is also the (tied) lm_head.
    private func packed(_ t: WeightTensor, name: String) -> WeightTensor {
        if name == "model.embed_tokens.weight" && !config.tieWordEmbeddings { return t }
        let p = packedForMatmul(t)
        if p.packed != nil { file.releasePages(of: t) }   // no-op for copies made above (not in the mapping)
        return p
    }

    private func takeStored(_ name: String, shape: [Int]) throws -> WeightTensor {
        guard let g = Self.ggufName(name) else { throw GGUFError.invalidTensor(file: source, tensor: name, reason: "no GGUF name for this checkpoint tensor") }
        if name.hasSuffix("mlp.experts.gate_up_proj") {
            // [E, 2Im, H] = per expert the gate rows then the up rows (the converter's split on dim -2, undone).
            let half = [shape[0], shape[1] / 2, shape[2]]
            let gate = try stored(g, shape: half), up = try stored(g.replacingOccurrences(of: "gate_exps", with: "up_exps"), shape: half)
            return concatRows(gate, up, experts: shape[0], name: name)
        }
        let cfg = config
        let hk = cfg.linearNumKeyHeads, hv = cfg.linearNumValueHeads, dk = cfg.linearKeyHeadDim, dv = cfg.linearValueHeadDim
        let tiled = layout.vHeadsTiled && hv != hk
        switch name.split(separator: ".").suffix(2).joined(separator: ".") {
        case "conv1d.weight":
            // Stored squeezed as [C, K]; V channels tiled.
            let w = try stored(g, shape: [shape[0], shape[2]])
            var v = w.toFloats()
            if tiled { v = untileRows(v, rowWidth: shape[2], prefixRows: 2 * hk * dk, heads: hv, headRows: dv) }
            return .f32(v, shape: shape, name: name)
        case "linear_attn.A_log", "linear_attn.dt_bias":
            var v = try stored(g, shape: shape).toFloats()
            if tiled { v = untileRows(v, rowWidth: 1, prefixRows: 0, heads: hv, headRows: 1) }
            if name.hasSuffix("A_log"), layout.aIsNegExp { v = v.map { Float(Foundation.log(Double(-$0))) } }
            return .f32(v, shape: shape, name: name)
        case "shared_expert_gate.weight":
            // llama.cpp stores the [1, H] gate as [H].
            let w = file.tensor(g).flatMap { $0.shape.count == 1 ? $0 : nil }
            let t = try w.map { _ in try stored(g, shape: [shape[1]]) } ?? stored(g, shape: shape)
            return t.reshaped(shape, name: name)
        default: break
        }
        let t = try stored(g, shape: shape)
        if layout.normsIncludeOne, name.hasSuffix("norm.weight"), !name.hasSuffix("linear_attn.norm.weight") {
            return .f32(t.toFloats().map { $0 - 1 }, shape: shape, name: name)
        }
        guard tiled else { return t }
        if name.hasSuffix("in_proj_qkv.weight") { return try permuteRows(t, prefixRows: 2 * hk * dk, headRows: dv) }
        if name.hasSuffix("in_proj_z.weight") { return try permuteRows(t, prefixRows: 0, headRows: dv) }
        if name.hasSuffix("in_proj_a.weight") || name.hasSuffix("in_proj_b.weight") { return try permuteRows(t, prefixRows: 0, headRows: 1) }
        if name.hasSuffix("linear_attn.out_proj.weight") { return tiledColumns(t, headWidth: dv) }
        return t
    }

    @discardableResult
    public func skip(where rule: (String) -> Bool) -> Int {
        // GGUF keeps MTP layers as extra blocks past the trunk (`blk.<L+j>.*`, `nextn.*`): the checkpoint's `mtp.*`.
        let extra = file.tensors.filter { t in
            guard t.name.hasPrefix("blk."), let i = Int(t.name.dropFirst(4).prefix { $0 != "." }) else { return false }
            return i >= config.numHiddenLayers && rule("mtp.layers.\(i - config.numHiddenLayers)")
        }
        lock.lock(); defer { lock.unlock() }
        for t in extra { consumed.insert(t.name) }
        return extra.count
    }

    public func finish() throws {
        lock.lock(); defer { lock.unlock() }
        let rest = file.tensors.map(\.name).filter { !consumed.contains($0) }
        if let first = rest.first {
            throw GGUFError.invalidTensor(file: source, tensor: first,
                                          reason: "not used by the model (\(rest.count) tensors left: \(rest.prefix(5).joined(separator: ", ")))")
        }
    }

    public var storedTensors: [StoredTensorInfo] {
        file.tensors.filter { t in
            guard t.name.hasPrefix("blk."), let i = Int(t.name.dropFirst(4).prefix { $0 != "." }) else { return true }
            return i < config.numHiddenLayers
        }.map { StoredTensorInfo(name: $0.name, format: $0.format.description, elementCount: $0.elementCount, byteCount: $0.byteCount) }
    }

    // MARK: - Helpers

    private func stored(_ g: String, shape: [Int]) throws -> WeightTensor {
        guard let t = file.tensor(g) else { throw GGUFError.invalidTensor(file: source, tensor: g, reason: "missing") }
        guard t.shape == shape else {
            throw GGUFError.invalidTensor(file: source, tensor: g, reason: "shape \(t.shape) (PyTorch order), expected \(shape)")
        }
        lock.lock(); consumed.insert(g); lock.unlock()
        return t
    }

    /// grouped[g·R + r] = tiled[r·Hk + g] over heads of `headRows` rows, after `prefixRows` untouched rows.
    private func untileRows(_ v: [Float], rowWidth: Int, prefixRows: Int, heads: Int, headRows: Int) -> [Float] {
        let perm = untileMap(heads: heads)
        var out = v
        for h in 0..<heads {
            let dst = (prefixRows + h * headRows) * rowWidth, src = (prefixRows + perm[h] * headRows) * rowWidth
            out.replaceSubrange(dst..<dst + headRows * rowWidth, with: v[src..<src + headRows * rowWidth])
        }
        return out
    }

    /// For each grouped value head, the tiled head that holds it.
    private func untileMap(heads: Int) -> [Int] {
        let hk = config.linearNumKeyHeads, r = heads / hk
        return (0..<heads).map { h in (h % r) * hk + h / r }
    }

    private func permuteRows(_ t: WeightTensor, prefixRows: Int, headRows: Int) throws -> WeightTensor {
        let rb = t.rowBytes, heads = config.linearNumValueHeads, perm = untileMap(heads: heads)
        let buffer = OwnedBuffer(byteCount: t.byteCount)
        buffer.pointer.copyMemory(from: t.data, byteCount: prefixRows * rb)
        for h in 0..<heads {
            (buffer.pointer + (prefixRows + h * headRows) * rb)
                .copyMemory(from: t.data + (prefixRows + perm[h] * headRows) * rb, byteCount: headRows * rb)
        }
        file.releasePages(of: t)   // the copy replaces the mapped original in RSS
        return WeightTensor(name: t.name, format: t.format, shape: t.shape, data: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }

    /// The converter tiled the V heads of out_proj's input columns. Moving them back would move parts of
    /// blocks when a head is narrower than the format's block (Q4_K: 256 columns, two 128-wide heads of the
    /// 35B-A3B), so the weight stays as stored and says which checkpoint column each stored column holds;
    /// matmul gathers its input into that order (exact: the same products, summed in the stored order).
    private func tiledColumns(_ t: WeightTensor, headWidth: Int) -> WeightTensor {
        let heads = config.linearNumValueHeads, perm = untileMap(heads: heads)
        var source = [Int32](repeating: 0, count: heads * headWidth)
        for h in 0..<heads {
            for i in 0..<headWidth { source[perm[h] * headWidth + i] = Int32(h * headWidth + i) }
        }
        return t.withColumnSource(source)
    }

    /// Per expert, `a`'s rows then `b`'s rows (`[E, n, H]` twice → `[E, 2n, H]`), in the stored format.
    private func concatRows(_ a: WeightTensor, _ b: WeightTensor, experts: Int, name: String) -> WeightTensor {
        precondition(a.format == b.format, "\(name): gate and up experts have different formats \(a.format), \(b.format)")
        let per = a.byteCount / experts
        let buffer = OwnedBuffer(byteCount: 2 * a.byteCount)
        for e in 0..<experts {
            (buffer.pointer + 2 * e * per).copyMemory(from: a.data + e * per, byteCount: per)
            (buffer.pointer + (2 * e + 1) * per).copyMemory(from: b.data + e * per, byteCount: per)
        }
        file.releasePages(of: a)
        file.releasePages(of: b)
        return WeightTensor(name: name, format: a.format, shape: [experts, 2 * a.shape[1], a.shape[2]],
                            data: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }
}
