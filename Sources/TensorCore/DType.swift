/// Element types of stored tensors. Activations are always `Float` (f32); weights keep their stored type
/// and kernels read them directly. Block-quantized formats (q8_0, q4_K, …) join this enum later; model code
/// never switches on it — only kernels do.
public enum DType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    /// Integer tensors appear in reference files (token ids), never as weights.
    case i64 = "I64"

    /// Bytes per element for the plain (non-block) types.
    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .i64: 8
        }
    }

    /// The safetensors dtype string (`"F32"`, `"BF16"`, …).
    public var description: String { rawValue }
}

@inline(__always)
public func bf16ToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// Round-to-nearest-even f32 → bf16 (what torch's `.to(torch.bfloat16)` does).
@inline(__always)
public func floatToBF16(_ x: Float) -> UInt16 {
    let bits = x.bitPattern
    if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
    let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
    return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
}

@inline(__always)
public func f16ToFloat(_ bits: UInt16) -> Float {
    Float(Float16(bitPattern: bits))
}
