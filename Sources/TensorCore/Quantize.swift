// Plain quantisers for the formats `qwenkit quantize` writes, ported from ggml's reference quantisers
// (ggml/src/ggml-quants.c `quantize_row_*_ref`, `make_qkx2_quants`, `make_qx_quants`, `nearest_int`): the
// same algorithm and the same f32 operation order, so a block matches llama.cpp's without an importance matrix
// (what `llama-quantize` does without `--imatrix`) up to f32 rounding of its build (GCC may fuse a·b + c).
// `Tests/Fixtures/gguf/kquant_refs.gguf` pins them to blocks written by llama.cpp's libggml.

/// Quantises `count` values of `x` (a whole number of `format` blocks) into `out`
/// (`format.rowBytes(count)` bytes). Formats without a quantiser here stop with a message naming the format.
public func quantize(_ format: WeightFormat, _ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutableRawPointer) {
    precondition(count % format.blockElements == 0, "quantize \(format): \(count) values are not whole blocks of \(format.blockElements)")
    let blocks = count / format.blockElements
    switch format {
    case .f32: out.copyMemory(from: x, byteCount: count * 4)
    case .f16: for i in 0..<count { out.storeBytes(of: Float16(x[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self) }
    case .bf16: for i in 0..<count { out.storeBytes(of: floatToBF16(x[i]), toByteOffset: 2 * i, as: UInt16.self) }
    case .q4_0: for b in 0..<blocks { quantizeQ4_0Block(x + 32 * b, out + 18 * b) }
    case .q5_0: for b in 0..<blocks { quantizeQ5_0Block(x + 32 * b, out + 22 * b) }
    case .q5_1: for b in 0..<blocks { quantizeQ5_1Block(x + 32 * b, out + 24 * b) }
    case .q8_0: for b in 0..<blocks { quantizeQ8_0Block(x + 32 * b, out + 34 * b) }
    case .q4_K: for b in 0..<blocks { quantizeQ45_KBlock(x + 256 * b, out + 144 * b, fiveBits: false) }
    case .q5_K: for b in 0..<blocks { quantizeQ45_KBlock(x + 256 * b, out + 176 * b, fiveBits: true) }
    case .q6_K: for b in 0..<blocks { quantizeQ6_KBlock(x + 256 * b, out + 210 * b) }
    case .q4_1, .q2_K, .q3_K, .iq4_nl, .iq4_xs, .i64:
        preconditionFailure("quantize: no quantiser for \(format)")
    }
}

/// Array convenience: the block bytes of `values` in `format`.
public func quantize(_ values: [Float], to format: WeightFormat) -> [UInt8] {
    guard let bytes = format.rowBytes(values.count) else {
        preconditionFailure("quantize \(format): \(values.count) values are not whole blocks of \(format.blockElements)")
    }
    var out = [UInt8](repeating: 0, count: bytes)
    values.withUnsafeBufferPointer { x in
        out.withUnsafeMutableBytes { quantize(format, x.baseAddress!, count: values.count, into: $0.baseAddress!) }
    }
    return out
}

/// Q8_0 (ggml `quantize_row_q8_0_ref`): per 32 values d = max|x| / 127 stored as f16, q = round(x / d).
public func quantizeQ8_0(_ values: [Float]) -> [UInt8] { quantize(values, to: .q8_0) }

// MARK: - Legacy 32-element blocks

private func quantizeQ8_0Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    var amax: Float = 0
    for j in 0..<32 { amax = max(amax, abs(x[j])) }
    let d = amax / 127, id: Float = d != 0 ? 1 / d : 0
    storeF16(d, y, 0)
    // roundf: halves away from zero (Swift's default rounding rule).
    for j in 0..<32 { y.storeBytes(of: Int8((x[j] * id).rounded()), toByteOffset: 2 + j, as: Int8.self) }
}

/// The value of largest magnitude (its sign kept), first one on ties: the legacy quants' scale source.
@inline(__always) private func signedAbsMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    var amax: Float = 0, m: Float = 0
    for j in 0..<n where amax < abs(x[j]) { amax = abs(x[j]); m = x[j] }
    return m
}

private func quantizeQ4_0Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    let d = signedAbsMax(x, 32) / -8, id: Float = d != 0 ? 1 / d : 0
    storeF16(d, y, 0)
    for j in 0..<16 {
        // C's (int8_t) cast truncates toward zero; the values are ≥ 0.5 here, so it is a floor.
        let q0 = min(15, Int8(x[j] * id + 8.5)), q1 = min(15, Int8(x[16 + j] * id + 8.5))
        y.storeBytes(of: UInt8(q0) | UInt8(q1) << 4, toByteOffset: 2 + j, as: UInt8.self)
    }
}

private func quantizeQ5_0Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    let d = signedAbsMax(x, 32) / -16, id: Float = d != 0 ? 1 / d : 0
    storeF16(d, y, 0)
    var qh: UInt32 = 0
    for j in 0..<16 {
        let q0 = UInt8(min(31, Int8(x[j] * id + 16.5))), q1 = UInt8(min(31, Int8(x[16 + j] * id + 16.5)))
        y.storeBytes(of: (q0 & 0xF) | (q1 & 0xF) << 4, toByteOffset: 6 + j, as: UInt8.self)
        qh |= UInt32(q0 >> 4) << j | UInt32(q1 >> 4) << (j + 16)
    }
    y.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
}

private func quantizeQ5_1Block(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
    for j in 0..<32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
    let d = (hi - lo) / 31, id: Float = d != 0 ? 1 / d : 0
    storeF16(d, y, 0)
    storeF16(lo, y, 2)
    var qh: UInt32 = 0
    for j in 0..<16 {
        let q0 = UInt8((x[j] - lo) * id + 0.5), q1 = UInt8((x[16 + j] - lo) * id + 0.5)
        y.storeBytes(of: (q0 & 0xF) | (q1 & 0xF) << 4, toByteOffset: 8 + j, as: UInt8.self)
        qh |= UInt32(q0 >> 4) << j | UInt32(q1 >> 4) << (j + 16)
    }
    y.storeBytes(of: qh.littleEndian, toByteOffset: 4, as: UInt32.self)
}
