import Foundation
import GGUF
import SafeTensors
import TensorCore

/// Writes a Qwen3.5 safetensors checkpoint as a GGUF in llama.cpp's converter layout (the inverse of
/// `Qwen35GGUFSource`): GGUF names, `+1` folded into the zero-centred norms, `ssm_a = -exp(A_log)`, squeezed
/// conv, V heads in tiled order, split `ffn_gate_exps` / `ffn_up_exps`, the MTP block as extra layers after the
/// trunk (`blk.<L>.*` with `nextn.eh_proj` / `enorm` / `hnorm` / `shared_head_norm`), and the `<arch>.*` metadata
/// that `convert_hf_to_gguf.py` writes. Each tensor's format comes from `mix` as `llama-quantize` would choose it
/// (`Qwen35QuantPlan`): norms, `ssm_a`, `ssm_dt`, the conv taps and the router stay F32.
public enum Qwen35GGUFExport {
    /// `progress(done, total)` counts elements written.
    public static func writer(config c: Qwen35Config, store: WeightStore, mix: QuantMix = .f32,
                              pool: ThreadPool = .shared, progress: ((Int, Int) -> Void)? = nil) throws -> GGUFWriter {
        var w = GGUFWriter()
        let arch = c.isMoE ? "qwen35moe" : "qwen35"
        // The converter appends the MTP layers to the trunk: block_count = L + nextn_predict_layers.
        let mtp = mtpLayerCount(store.entries.keys)
        func u32(_ k: String, _ v: Int) { w.add("\(arch).\(k)", .uint32(UInt32(v))) }
        w.add("general.architecture", .string(arch))
        if mix != .f32 {
            w.add("general.file_type", .uint32(mix.fileType))
            w.add("general.quantization_version", .uint32(2)) // GGML_QNT_VERSION
        }
        u32("block_count", c.numHiddenLayers + mtp)
        if mtp > 0 { u32("nextn_predict_layers", mtp) }
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
        // One entry per block: the MTP layers are full attention (`recurrent += [False] * (block_count - n_layer)`).
        let recurrent = c.layerTypes.map { $0 == .linearAttention } + Array(repeating: false, count: mtp)
        w.add("\(arch).attention.recurrent_layers", .array(.bool, recurrent.map { .bool($0) }))
        u32("full_attention_interval", fullAttentionInterval(c.layerTypes))
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

        let sources = try sourceTensors(store: store, config: c)
        // llama.cpp's mixture counts attn_v / attn_qkv tensors in a first pass and numbers ffn_down over all
        // blocks, the MTP ones included (`n_ffn_down = n_layer_all`).
        var plan = Qwen35QuantPlan(mix: mix, layers: c.numHiddenLayers + mtp, experts: c.numExperts ?? 0,
                                   names: sources.flatMap(\.gguf))
        let total = sources.reduce(0) { $0 + $1.parts.reduce(0) { $0 + store.entries[$1]!.elementCount } }
        var done = 0
        func add(_ g: String, shape: [Int], values: [Float]) {
            let format = plan.format(for: g, shape: shape)
            if format == .f32 {
                w.addTensor(g, shape: shape, values: values)
            } else {
                w.addTensor(g, format: format, shape: shape, bytes: quantizeRows(values, columns: shape.last!, to: format, pool: pool))
            }
            done += values.count
            progress?(done, total)
        }
        for source in sources {
            let flat = source.flat, g = source.gguf[0]
            var shape = store.entries[source.parts[0]]!.shape
            var v: [Float] = []
            for part in source.parts { v += try store.take(part, shape: shape).toFloats() }
            // Experts stored one per expert: `torch.stack(datas, dim=0)`.
            if source.parts.count > 1 { shape = [source.parts.count] + shape }
            switch true {
            case flat.hasSuffix("experts.gate_up_proj"):
                let (ex, two, h) = (shape[0], shape[1], shape[2]), half = two / 2
                var gate: [Float] = [], up: [Float] = []
                for x in 0..<ex {
                    gate += v[(x * two) * h..<(x * two + half) * h]
                    up += v[(x * two + half) * h..<(x * two + two) * h]
                }
                add(g, shape: [ex, half, h], values: gate)
                add(source.gguf[1], shape: [ex, half, h], values: up)
                continue
            case flat.hasSuffix("norm.weight") && !flat.hasSuffix("linear_attn.norm.weight"):
                // Also the MTP block's enorm / hnorm / shared_head.norm (their converter names end in norm.weight).
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
        return w
    }

    /// `values` ([rows, columns]) in `format`, rows split across the pool (each row is whole blocks).
    static func quantizeRows(_ values: [Float], columns: Int, to format: WeightFormat, pool: ThreadPool) -> Data {
        let rows = values.count / columns, rowBytes = format.rowBytes(columns)!
        var out = Data(count: rows * rowBytes)
        let chunk = max(1, (1 << 16) / columns)   // ~64K values per work item
        values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBytes { o in
                let src = x.baseAddress!, dst = o.baseAddress!
                pool.parallelFor((rows + chunk - 1) / chunk) { item in
                    let r0 = item * chunk, r1 = min(rows, r0 + chunk)
                    quantize(format, src + r0 * columns, count: (r1 - r0) * columns, into: dst + r0 * rowBytes)
                }
            }
        }
        return out
    }
}
