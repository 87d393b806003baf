/// How a weight tensor's elements are stored: a plain element type or a ggml block-quantized format. A row of
/// `n` elements (the innermost axis) is `n / blockElements` blocks of `blockBytes` each; rows are independent,
/// so slicing the leading axes is a byte offset of whole rows. Raw values are ggml's `ggml_type` codes (what a
/// GGUF file stores), so a GGUF tensor's format is `WeightFormat(rawValue: type)` and nothing else.
///
/// Every switch over formats (kernels, dequantisation) is exhaustive: a new case fails to compile until each
/// one handles it, and a code that is not a case is rejected at load (`init?(rawValue:)` returns nil).
public enum WeightFormat: UInt32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case iq4_nl = 20
    case iq4_xs = 23
    /// Integer tensors appear in reference files (token ids), never as weights.
    case i64 = 27
    case bf16 = 30

    /// Elements per block (1 for plain types, 32 for the legacy quants and IQ4_NL, 256 for k-quants).
    public var blockElements: Int {
        switch self {
        case .f32, .f16, .bf16, .i64: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl: 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs: 256
        }
    }

    /// Bytes per block (ggml's `sizeof(block_*)`).
    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .i64: 8
        case .q4_0: 18     // d f16, qs[16]
        case .q4_1: 20     // d, m f16, qs[16]
        case .q5_0: 22     // d f16, qh[4], qs[16]
        case .q5_1: 24     // d, m f16, qh[4], qs[16]
        case .q8_0: 34     // d f16, qs[32] int8
        case .q2_K: 84     // scales[16], qs[64], d, dmin f16
        case .q3_K: 110    // hmask[32], qs[64], scales[12], d f16
        case .q4_K: 144    // d, dmin f16, scales[12], qs[128]
        case .q5_K: 176    // d, dmin f16, scales[12], qh[32], qs[128]
        case .q6_K: 210    // ql[128], qh[64], scales[16] int8, d f16
        case .iq4_nl: 18   // d f16, qs[16]
        case .iq4_xs: 136  // d f16, scales_h u16, scales_l[4], qs[128]
        }
    }

    public var isQuantized: Bool { blockElements > 1 }

    /// Bytes of a row of `elements` values; nil when `elements` is not a whole number of blocks.
    public func rowBytes(_ elements: Int) -> Int? {
        guard elements >= 0, elements % blockElements == 0 else { return nil }
        let (bytes, overflow) = (elements / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }

    /// The plain element type, for the formats that have one.
    public var plainDType: DType? {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .i64: .i64
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs: nil
        }
    }

    public init(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .i64: self = .i64
        }
    }

    /// ggml's name (`"Q4_K"`, `"BF16"`, …).
    public var description: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .i64: "I64"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q2_K: "Q2_K"
        case .q3_K: "Q3_K"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        case .iq4_nl: "IQ4_NL"
        case .iq4_xs: "IQ4_XS"
        }
    }
}
