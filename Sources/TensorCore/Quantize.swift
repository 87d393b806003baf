/// Plain Q8_0 quantisation (ggml `quantize_row_q8_0_ref`): per 32 values d = max|x| / 127 stored as f16,
/// q = round(x / d). `values.count` must be a multiple of 32. Returns the block bytes.
public func quantizeQ8_0(_ values: [Float]) -> [UInt8] {
    precondition(values.count % 32 == 0, "quantizeQ8_0: \(values.count) values are not whole blocks of 32")
    var out = [UInt8](repeating: 0, count: values.count / 32 * 34)
    for b in 0..<(values.count / 32) {
        let x = values[(32 * b)..<(32 * b + 32)]
        let amax = x.reduce(Float(0)) { max($0, abs($1)) }
        let d = amax / 127, id: Float = d != 0 ? 1 / d : 0
        let bits = Float16(d).bitPattern
        out[34 * b] = UInt8(bits & 0xFF)
        out[34 * b + 1] = UInt8(bits >> 8)
        for (i, v) in x.enumerated() { out[34 * b + 2 + i] = UInt8(bitPattern: Int8((v * id).rounded())) }
    }
    return out
}
