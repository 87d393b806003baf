import TensorCore

/// The file types `qwenkit quantize` writes (llama.cpp's `llama_ftype`): a default block format for weight
/// matrices and, for the `_M` mixtures, llama.cpp's per-tensor exceptions.
public enum QuantMix: String, CaseIterable, Sendable {
    case f32 = "F32"
    case q8_0 = "Q8_0"
    case q4_K_M = "Q4_K_M"
    case q5_K_M = "Q5_K_M"
    case q6_K = "Q6_K"

    /// `llama_ftype_get_default_type`.
    public var defaultFormat: WeightFormat {
        switch self {
        case .f32: .f32
        case .q8_0: .q8_0
        case .q4_K_M: .q4_K
        case .q5_K_M: .q5_K
        case .q6_K: .q6_K
        }
    }

    /// `general.file_type` (LLAMA_FTYPE_ALL_F32 0, MOSTLY_Q8_0 7, Q4_K_M 15, Q5_K_M 17, Q6_K 18).
    public var fileType: UInt32 {
        switch self {
        case .f32: 0
        case .q8_0: 7
        case .q4_K_M: 15
        case .q5_K_M: 17
        case .q6_K: 18
        }
    }
}

/// Which format each tensor of a Qwen3.5 GGUF gets under a `QuantMix`: llama.cpp's `llama_tensor_get_type`
/// (src/llama-quant.cpp) for the qwen35 / qwen35moe tensors, without an importance matrix or overrides.
/// Stateful like llama.cpp's `quantize_state_impl`: attn_v / attn_qkv and (dense) ffn_down are numbered in the
/// order the tensors are written, so `format(for:shape:)` must be called once per tensor in file order.
public struct Qwen35QuantPlan: Sendable {
    public let mix: QuantMix
    let layers: Int
    let experts: Int
    let attentionV: Int
    let tiedEmbeddings: Bool
    var iAttentionV = 0
    var iFFNDown = 0

    /// `names`: every GGUF tensor name of the file (for the counts llama.cpp takes in a first pass).
    public init(mix: QuantMix, layers: Int, experts: Int, names: [String]) {
        self.mix = mix
        self.layers = layers
        self.experts = max(1, experts)
        attentionV = names.filter { Category($0).isAttentionV }.count
        tiedEmbeddings = !names.contains("output.weight")
    }

    enum Category {
        case tokenEmbedding, attentionQ, attentionK, attentionV, attentionQKV, attentionOutput
        case ffnUp, ffnGate, ffnDown, output, other

        /// `tensor_get_category`: substring tests in this order.
        init(_ name: String) {
            switch true {
            case name == "output.weight": self = .output
            case name == "token_embd.weight": self = .tokenEmbedding
            case name.contains("attn_qkv.weight"): self = .attentionQKV
            case name.contains("attn_v.weight"): self = .attentionV
            case name.contains("attn_k.weight"): self = .attentionK
            case name.contains("attn_q.weight"): self = .attentionQ
            case name.contains("attn_output.weight"): self = .attentionOutput
            case name.contains("ffn_up"): self = .ffnUp
            case name.contains("ffn_gate"): self = .ffnGate
            case name.contains("ffn_down"): self = .ffnDown
            default: self = .other
            }
        }

        /// `category_is_attn_v`: the fused QKV of the Gated DeltaNet layers counts as attn_v.
        var isAttentionV: Bool { self == .attentionV || self == .attentionQKV }
    }

    /// `tensor_allows_quantization` for the names of these architectures: 2-D and 3-D `*weight` tensors except
    /// norms, the router (`ffn_gate_inp`) and the conv taps. 1-D tensors (ssm_a, ssm_dt.bias, norms) stay F32.
    static func allowsQuantization(_ name: String, shape: [Int]) -> Bool {
        shape.count >= 2 && name.hasSuffix("weight") && !name.contains("_norm.weight")
            && !name.contains("ffn_gate_inp.weight") && !name.contains("ssm_conv1d")
    }

    /// `use_more_bits`: the first and last eighth of the layers and every third one between get more bits.
    static func useMoreBits(_ i: Int, _ n: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }

    /// The format of tensor `name` with GGUF-order-reversed `shape` ([out, in] / [experts, out, in]: the last
    /// axis is a row). Call once per tensor in file order.
    public mutating func format(for name: String, shape: [Int]) -> WeightFormat {
        guard mix != .f32, Self.allowsQuantization(name, shape: shape) else { return .f32 }
        var format = mix.defaultFormat
        let category = Category(name)
        let columns = shape.last!
        if category == .output || (tiedEmbeddings && category == .tokenEmbedding) {
            // Output rules: Q8_0 when rows are not whole blocks of the default format, else Q6_K (Q8_0 stays).
            if columns % format.blockElements != 0 { format = .q8_0 } else if format != .q8_0 { format = .q6_K }
        } else if category.isAttentionV {
            if mix == .q4_K_M || mix == .q5_K_M, Self.useMoreBits(iAttentionV, attentionV) { format = .q6_K }
            if experts == 8 { format = .q8_0 } // "for the 8-expert model, bumping this to Q8_0 trades just ~128MB"
            iAttentionV += 1
        } else if category == .attentionK {
            if experts == 8 { format = .q8_0 }
        } else if category == .ffnDown {
            // MoE models take the layer from the name (experts are not numbered consecutively in general).
            let layer = experts > 1 ? Self.layerIndex(name) ?? iFFNDown : iFFNDown
            if mix == .q4_K_M || mix == .q5_K_M, Self.useMoreBits(layer, layers) { format = .q6_K }
            iFFNDown += 1
        } else if category == .attentionOutput {
            if experts == 8 && mix == .q4_K_M { format = .q5_K }
        }
        return Self.fallback(format, columns: columns)
    }

    /// `tensor_type_fallback`: rows that are not whole 256-blocks take a 32-block format, else F16.
    static func fallback(_ format: WeightFormat, columns: Int) -> WeightFormat {
        guard columns % format.blockElements != 0 else { return format }
        let smaller: WeightFormat
        switch format {
        case .q4_K: smaller = .q5_0
        case .q5_K: smaller = .q5_1
        case .q6_K: smaller = .q8_0
        default: smaller = format
        }
        return columns % smaller.blockElements == 0 ? smaller : .f16
    }

    static func layerIndex(_ name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        return Int(name.dropFirst(4).prefix { $0 != "." })
    }
}
