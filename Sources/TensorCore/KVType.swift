/// How attention keys and values are stored in the KV cache (`--kv-type`, llama.cpp's `-ctk` / `-ctv`). f32 is
/// exact against the reference; the 16-bit types halve the cache, q8_0 (blocks of 32 int8 with an f16 scale,
/// ggml's `block_q8_0`) takes 34/128 of it. The attention kernels widen stored rows back to f32 before use.
public enum KVType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case f32, bf16, f16, q8_0

    public var description: String { rawValue }

    /// Parses a `--kv-type` value; an unknown name is an error naming it and the accepted ones.
    public init(parsing name: String) throws {
        guard let t = KVType(rawValue: name.lowercased()) else { throw KVTypeError.unknown(name) }
        self = t
    }

    /// Elements per storage block (a row of a KV head must be whole blocks).
    public var blockElements: Int { self == .q8_0 ? 32 : 1 }

    /// Bytes that hold `elements` values (a multiple of `blockElements`).
    public func bytes(elements: Int) -> Int {
        switch self {
        case .f32: 4 * elements
        case .bf16, .f16: 2 * elements
        case .q8_0: elements / 32 * 34
        }
    }

    /// Throws unless a KV head of `headDim` values is whole blocks of this type.
    public func check(headDim: Int) throws {
        guard headDim % blockElements == 0 else { throw KVTypeError.headDim(self, headDim) }
    }

    /// Stores `count` values (whole blocks) in this type: round-to-nearest-even for the 16-bit types (torch's
    /// `.to()`, ggml's `GGML_FP32_TO_FP16`), ggml's `quantize_row_q8_0_ref` for q8_0 (d = max|x|/127 stored as
    /// f16, q = round(x/d) half away from zero).
    public func encode(_ src: UnsafePointer<Float>, into dst: UnsafeMutableRawPointer, count: Int) {
        switch self {
        case .f32:
            dst.copyMemory(from: src, byteCount: 4 * count)
        case .bf16:
            let h = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { h[i] = floatToBF16(src[i]) }
        case .f16:
            let h = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { h[i] = Float16(src[i]).bitPattern }
        case .q8_0:
            precondition(count % 32 == 0, "q8_0 KV: \(count) values are not whole blocks of 32")
            for b in 0..<(count / 32) {
                let x = src + 32 * b, blk = dst + 34 * b
                var amax: Float = 0
                for i in 0..<32 { amax = max(amax, abs(x[i])) }
                let d = amax / 127, id: Float = d != 0 ? 1 / d : 0
                blk.storeBytes(of: Float16(d).bitPattern, as: UInt16.self)   // unaligned-safe for 34-byte blocks
                let q = (blk + 2).assumingMemoryBound(to: Int8.self)
                for i in 0..<32 { q[i] = Int8((x[i] * id).rounded()) }
            }
        }
    }

    /// Widens `count` stored values (whole blocks) back to f32.
    public func decode(_ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .f32:
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .bf16:
            let h = src.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { dst[i] = bf16ToFloat(h[i]) }
        case .f16:
            let h = src.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { dst[i] = Float(Float16(bitPattern: h[i])) }
        case .q8_0:
            for b in 0..<(count / 32) {
                let blk = src + 34 * b, y = dst + 32 * b
                let d = Float(Float16(bitPattern: blk.loadUnaligned(as: UInt16.self)))
                let q = (blk + 2).assumingMemoryBound(to: Int8.self)
                for i in 0..<32 { y[i] = Float(q[i]) * d }
            }
        }
    }
}

public enum KVTypeError: Error, Equatable, CustomStringConvertible {
    case unknown(String)
    case headDim(KVType, Int)
    public var description: String {
        switch self {
        case .unknown(let name):
            "unknown KV cache type '\(name)' (expected one of \(KVType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .headDim(let t, let d):
            "KV cache type \(t) stores blocks of \(t.blockElements) values; head_dim \(d) is not a multiple"
        }
    }
}
