import Foundation
import TensorCore

/// Writes a GGUF (version 3) file: metadata in insertion order, tensors in insertion order at offsets aligned
/// to `alignment`. For tests, fixtures and `qwenkit quantize`; the layout is what gguf-py's `GGUFWriter` writes.
public struct GGUFWriter {
    public var alignment = 32
    private var metadata: [(String, GGUFValue)] = []
    private var tensors: [(name: String, format: WeightFormat, dims: [Int], bytes: Data)] = []

    public init() {}

    public mutating func add(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

    /// A tensor with PyTorch-order `shape` (written reversed, as ggml dims) and its raw stored bytes.
    public mutating func addTensor(_ name: String, format: WeightFormat, shape: [Int], bytes: Data) {
        let dims = Array(shape.reversed())
        precondition(format.rowBytes(dims[0]).map { $0 * dims.dropFirst().reduce(1, *) } == bytes.count,
                     "\(name): \(bytes.count) bytes do not fit \(format) \(shape)")
        tensors.append((name, format, dims, bytes))
    }

    /// An f32 tensor.
    public mutating func addTensor(_ name: String, shape: [Int], values: [Float]) {
        addTensor(name, format: .f32, shape: shape, bytes: values.withUnsafeBytes { Data($0) })
    }

    public func data() -> Data {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { let u = Array(s.utf8); u64(u.count); out.append(contentsOf: u) }
        func raw(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): out.append(x)
            case .int8(let x): out.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .uint32(let x): u32(x)
            case .int32(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .float32(let x): u32(x.bitPattern)
            case .bool(let x): out.append(x ? 1 : 0)
            case .string(let s): string(s)
            case .array(let t, let values):
                u32(t.rawValue); u64(values.count)
                for e in values { precondition(e.type == t, "GGUF array of \(t) holds a \(e.type)"); raw(e) }
            case .uint64(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .int64(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .float64(let x): withUnsafeBytes(of: x.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            }
        }
        func pad() { while out.count % alignment != 0 { out.append(0) } }

        u32(0x4655_4747); u32(3); u64(tensors.count)
        let meta = alignment == 32 ? metadata : metadata + [("general.alignment", .uint32(UInt32(alignment)))]
        u64(meta.count)
        for (k, v) in meta { string(k); u32(v.type.rawValue); raw(v) }
        var offset = 0
        for t in tensors {
            string(t.name); u32(UInt32(t.dims.count))
            for d in t.dims { u64(d) }
            u32(t.format.rawValue); u64(offset)
            offset = (offset + t.bytes.count + alignment - 1) / alignment * alignment
        }
        pad()
        for t in tensors { out.append(t.bytes); pad() }
        return out
    }

    public func write(to url: URL) throws { try data().write(to: url) }
}
