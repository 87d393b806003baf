import Foundation
import GGUF
import SafeTensors
import TensorCore

/// Writes a Qwen3.5 safetensors checkpoint as a GGUF in llama.cpp's converter layout (the inverse of
/// `Qwen35GGUFSource`): GGUF names, `+1` folded into the zero-centred norms, `ssm_a = -exp(A_log)`, squeezed
/// conv, V heads in tiled order, split `ffn_gate_exps` / `ffn_up_exps`, and the `<arch>.*` metadata that
/// `convert_hf_to_gguf.py` writes. Tensors are F32, or with `matrices: .q8_0` every weight matrix whose rows
/// are whole blocks is Q8_0 (norms, `ssm_a`, `ssm_dt`, the conv taps and the router stay F32, as in
/// llama.cpp's Q8_0 files). K-quant mixtures (`Q4_K_M`, …) are not written yet.
public enum Qwen35GGUFExport {
    public static func writer(config c: Qwen35Config, store: WeightStore, matrices: WeightFormat = .f32,
                              progress: ((Int, Int) -> Void)? = nil) throws -> GGUFWriter {
        precondition(matrices == .f32 || matrices == .q8_0, "Qwen35GGUFExport: \(matrices) output is not implemented")
        var w = GGUFWriter()
        let arch = c.isMoE ? "qwen35moe" : "qwen35"
        func u32(_ k: String, _ v: Int) { w.add("\(arch).\(k)", .uint32(UInt32(v))) }
        w.add("general.architecture", .string(arch))
        u32("block_count", c.numHiddenLayers)
        u32("context_length", c.maxPositionEmbeddings)
        u32("embedding_length", c.hiddenSize)
        if let i = c.intermediateSize { u32("feed_forward_length", i) }
        u32("attention.head_count", c.numAttentionHeads)
        u32("attention.head_count_kv", c.numKeyValueHeads)
        u32("attention.key_length", c.headDim)
        u32("attention.value_length", c.headDim)
        w.add("\(arch).attention.layer_norm_rms_epsilon", .float32(c.rmsNormEps))
        w.add("\(arch).rope.freq_base", .float32(Float(c.ropeTheta)))
        u32("rope.dimension_count", c.rotaryDim)
        for (key, value) in try c.ropeScaling.ggufMetadata() { w.add("\(arch).\(key)", value) }
        w.add("\(arch).rope.dimension_sections", .array(.int32, [11, 11, 10, 0].map { .int32($0) }))
        u32("ssm.conv_kernel", c.linearConvKernelDim)
        u32("ssm.state_size", c.linearKeyHeadDim)
        u32("ssm.group_count", c.linearNumKeyHeads)
        u32("ssm.time_step_rank", c.linearNumValueHeads)
        u32("ssm.inner_size", c.linearValueHeadDim * c.linearNumValueHeads)
        w.add("\(arch).attention.recurrent_layers", .array(.bool, c.layerTypes.map { .bool($0 == .linearAttention) }))
        if let e = c.numExperts, let k = c.numExpertsPerTok, let im = c.moeIntermediateSize, let s = c.sharedExpertIntermediateSize {
            u32("expert_count", e); u32("expert_used_count", k)
            u32("expert_feed_forward_length", im); u32("expert_shared_feed_forward_length", s)
        }

        let hk = c.linearNumKeyHeads, hv = c.linearNumValueHeads, dk = c.linearKeyHeadDim, dv = c.linearValueHeadDim
        let tiled = hv != hk
        // Tiled head t holds grouped head (t % Hk)·R + t / Hk (conversion/qwen.py `_reorder_v_heads`).
        let tileMap = (0..<hv).map { t in (t % hk) * (hv / hk) + t / hk }
        func tile(_ v: [Float], rowWidth: Int, prefixRows: Int, headRows: Int) -> [Float] {
            guard tiled else { return v }
            var out = v
            for t in 0..<hv {
                let dst = (prefixRows + t * headRows) * rowWidth, src = (prefixRows + tileMap[t] * headRows) * rowWidth
                out.replaceSubrange(dst..<dst + headRows * rowWidth, with: v[src..<src + headRows * rowWidth])
            }
            return out
        }
        func tileColumns(_ v: [Float], rows: Int, cols: Int) -> [Float] {
            guard tiled else { return v }
            var out = v
            for r in 0..<rows {
                for t in 0..<hv {
                    let dst = r * cols + t * dv, src = r * cols + tileMap[t] * dv
                    out.replaceSubrange(dst..<dst + dv, with: v[src..<src + dv])
                }
            }
            return out
        }

        func add(_ g: String, shape: [Int], values: [Float]) {
            let keepF32 = shape.count < 2 || g.hasSuffix("ssm_conv1d.weight") || g.hasSuffix("ffn_gate_inp.weight")
            if matrices == .q8_0, !keepF32, shape.last! % 32 == 0 {
                w.addTensor(g, format: .q8_0, shape: shape, bytes: Data(quantizeQ8_0(values)))
            } else {
                w.addTensor(g, shape: shape, values: values)
            }
        }
        let names = store.entries.keys.sorted().filter { !Qwen35Checkpoint.isSkipped($0) }
        for (done, name) in names.enumerated() {
            progress?(done, names.count)
            let e = store.entries[name]!
            // Flat-export names: the multimodal wrapper's backbone prefix is dropped.
            let flat = name.replacingOccurrences(of: "model.language_model.", with: "model.")
            guard let g = Qwen35GGUFSource.ggufName(flat) else {
                throw GGUFError.invalidTensor(file: store.source, tensor: name, reason: "no GGUF name")
            }
            var v = try store.take(name, shape: e.shape).toFloats()
            var shape = e.shape
            switch true {
            case flat.hasSuffix("experts.gate_up_proj"):
                let (ex, two, h) = (shape[0], shape[1], shape[2]), half = two / 2
                var gate: [Float] = [], up: [Float] = []
                for x in 0..<ex {
                    gate += v[(x * two) * h..<(x * two + half) * h]
                    up += v[(x * two + half) * h..<(x * two + two) * h]
                }
                add(g, shape: [ex, half, h], values: gate)
                add(g.replacingOccurrences(of: "gate_exps", with: "up_exps"), shape: [ex, half, h], values: up)
                continue
            case flat.hasSuffix("norm.weight") && !flat.hasSuffix("linear_attn.norm.weight"):
                v = v.map { $0 + 1 }
            case flat.hasSuffix("A_log"):
                v = tile(v.map { -Float(Foundation.exp(Double($0))) }, rowWidth: 1, prefixRows: 0, headRows: 1)
            case flat.hasSuffix("dt_bias"):
                v = tile(v, rowWidth: 1, prefixRows: 0, headRows: 1)
            case flat.hasSuffix("conv1d.weight"):
                shape = [shape[0], shape[2]]
                v = tile(v, rowWidth: shape[1], prefixRows: 2 * hk * dk, headRows: dv)
            case flat.hasSuffix("in_proj_qkv.weight"):
                v = tile(v, rowWidth: shape[1], prefixRows: 2 * hk * dk, headRows: dv)
            case flat.hasSuffix("in_proj_z.weight"):
                v = tile(v, rowWidth: shape[1], prefixRows: 0, headRows: dv)
            case flat.hasSuffix("in_proj_a.weight"), flat.hasSuffix("in_proj_b.weight"):
                v = tile(v, rowWidth: shape[1], prefixRows: 0, headRows: 1)
            case flat.hasSuffix("linear_attn.out_proj.weight"):
                v = tileColumns(v, rows: shape[0], cols: shape[1])
            case flat.hasSuffix("shared_expert_gate.weight"):
                shape = [shape[1]]
            default: break
            }
            add(g, shape: shape, values: v)
        }
        progress?(names.count, names.count)
        return w
    }
}
