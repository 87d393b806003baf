/// A read-only view of one stored tensor, usually inside a memory-mapped checkpoint file. The `owner`
/// keeps the mapping alive for as long as any view of it exists. Weights never get an f32 copy: kernels read
/// `data` in its stored `format` (a plain dtype or a ggml block format).
public struct WeightTensor: @unchecked Sendable {
    public let name: String
    /// How elements are stored; rows (the innermost axis) are `rowBytes` apart.
    public let format: WeightFormat
    /// PyTorch order, e.g. `[out, in]` for a linear layer.
    public let shape: [Int]
    public let data: UnsafeRawPointer
    private let owner: AnyObject?
    /// The same weights in a matmul kernel's repacked layout, when the loader made one (`packedForMatmul`);
    /// matmul then reads only this, and `data` serves row lookups (whose pages may have been released).
    public let packed: PackedWeight?
    /// Stored column j holds the checkpoint's column `columnSource[j]` (a layout change that cannot be undone by
    /// moving stored blocks, e.g. V heads narrower than a K-quant block); matmul gathers its input to match.
    public let columnSource: [Int32]?

    public init(name: String, format: WeightFormat, shape: [Int], data: UnsafeRawPointer, owner: AnyObject?,
                packed: PackedWeight? = nil, columnSource: [Int32]? = nil) {
        precondition(format.rowBytes(shape.last ?? 1) != nil,
                     "\(name): rows of \(shape.last ?? 1) are not whole \(format) blocks of \(format.blockElements)")
        precondition(packed == nil || (shape.count >= 2 && shape.dropLast().reduce(1, *) % PackedWeight.groupRows == 0),
                     "\(name): a packed weight needs whole groups of \(PackedWeight.groupRows) rows, shape \(shape)")
        self.name = name
        self.format = format
        self.shape = shape
        self.data = data
        precondition(columnSource.map { $0.count == (shape.last ?? 1) } ?? true, "\(name): column order of the wrong length")
        self.owner = owner
        self.packed = packed
        self.columnSource = columnSource
    }

    public init(name: String, dtype: DType, shape: [Int], data: UnsafeRawPointer, owner: AnyObject?) {
        self.init(name: name, format: WeightFormat(dtype), shape: shape, data: data, owner: owner)
    }

    /// The plain element type. Only for plain formats: callers that may see block formats switch on `format`.
    public var dtype: DType {
        guard let d = format.plainDType else { preconditionFailure("\(name): \(format) is a block format, not a dtype") }
        return d
    }

    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes of one row (the innermost axis).
    public var rowBytes: Int { format.rowBytes(shape.last ?? 1)! }
    /// Number of rows (all leading axes).
    public var rowCount: Int { shape.isEmpty ? 1 : shape.dropLast().reduce(1, *) }
    public var byteCount: Int { rowCount * rowBytes }

    /// Element `i` (flat index) as f32. For small tensors and reference code, not for hot loops (a block
    /// format dequantises the whole block holding `i`).
    @inline(__always)
    public func scalar(_ i: Int) -> Float {
        switch format {
        case .f32: return data.load(fromByteOffset: i &* 4, as: Float.self)
        case .bf16: return bf16ToFloat(data.load(fromByteOffset: i &* 2, as: UInt16.self))
        case .f16: return f16ToFloat(data.load(fromByteOffset: i &* 2, as: UInt16.self))
        case .i64: return Float(data.loadUnaligned(fromByteOffset: i &* 8, as: Int64.self))
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs:
            let block = i / format.blockElements
            var values = [Float](repeating: 0, count: format.blockElements)
            values.withUnsafeMutableBufferPointer {
                dequantize(format, data + block * format.blockBytes, $0.baseAddress!, count: format.blockElements)
            }
            return values[i % format.blockElements]
        }
    }

    /// The whole tensor widened to f32. Only for small tensors (norm weights, A_log, dt_bias, conv taps).
    public func toFloats() -> [Float] {
        if !format.isQuantized { return (0..<elementCount).map(scalar) }
        return [Float](unsafeUninitializedCapacity: elementCount) { p, n in
            dequantize(format, data, p.baseAddress!, count: elementCount)
            n = elementCount
        }
    }

    /// Row `r` (flat over the leading axes) dequantised into `out` (`shape.last` values).
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        dequantize(format, data + r * rowBytes, out, count: shape.last ?? 1)
    }

    /// The same bytes under another shape with the same innermost axis blocks (e.g. `[H]` as `[1, H]`).
    public func reshaped(_ newShape: [Int], name newName: String? = nil) -> WeightTensor {
        let keepsRows = newShape.last == shape.last && (newShape.dropLast().reduce(1, *)) % PackedWeight.groupRows == 0
        let out = WeightTensor(name: newName ?? name, format: format, shape: newShape, data: data, owner: owner,
                               packed: keepsRows ? packed : nil, columnSource: newShape.last == shape.last ? columnSource : nil)
        precondition(columnSource == nil || out.columnSource != nil, "\(name): reshaping would lose its column order")
        precondition(out.byteCount == byteCount, "\(name): cannot view \(shape) as \(newShape)")
        return out
    }

    /// The same tensor with a repacked copy attached (made by the kernels' `packedForMatmul`).
    public func withPacked(_ p: PackedWeight) -> WeightTensor {
        WeightTensor(name: name, format: format, shape: shape, data: data, owner: owner, packed: p, columnSource: columnSource)
    }

    /// The same tensor whose stored column j is the checkpoint's column `source[j]`.
    public func withColumnSource(_ source: [Int32]) -> WeightTensor {
        WeightTensor(name: name, format: format, shape: shape, data: data, owner: owner, packed: packed, columnSource: source)
    }

    /// The stored bytes in stored column order (for the kernels, after their input was gathered).
    public var inStoredColumnOrder: WeightTensor {
        WeightTensor(name: name, format: format, shape: shape, data: data, owner: owner, packed: packed)
    }

    /// A view of `count` consecutive rows starting at `row` of the leading axis (e.g. one expert of a
    /// fused `[E, out, in]` tensor).
    public func slice(row: Int, count: Int = 1, dropLeading: Bool) -> WeightTensor {
        precondition(row >= 0 && row + count <= shape[0], "\(name): slice \(row)+\(count) out of \(shape[0])")
        let rowsPerLeading = shape.count > 1 ? shape.dropFirst().dropLast().reduce(1, *) : 1
        let stride = shape.count > 1 ? rowsPerLeading * rowBytes : format.blockBytes / format.blockElements
        let newShape = dropLeading && count == 1 ? Array(shape.dropFirst()) : [count] + shape.dropFirst()
        // The packed copy slices along with it when the rows start and end on whole groups (one expert of a
        // packed [E, out, in] tensor); otherwise the slice runs on the ggml bytes.
        let g = PackedWeight.groupRows
        let firstRow = shape.count > 1 ? row * rowsPerLeading : row, rows = shape.count > 1 ? count * rowsPerLeading : count
        let packedSlice = packed.flatMap { p in
            shape.count > 1 && firstRow % g == 0 && rows % g == 0 ? p.advanced(byGroups: firstRow / g) : nil
        }
        return WeightTensor(name: name, format: format, shape: newShape, data: data + row * stride, owner: owner,
                            packed: packedSlice, columnSource: shape.count > 1 ? columnSource : nil)
    }
}
/// A weight in a kernel's repacked layout (`CKernels/quant_x16.c`): rows in groups of 16 interleaved block by
/// block, `groupBytes` per group. Made once at load from the ggml blocks; matmul reads it in their place.
public struct PackedWeight: @unchecked Sendable {
    public static let groupRows = 16
    public let data: UnsafeRawPointer
    public let groupBytes: Int
    private let owner: AnyObject

    public init(data: UnsafeRawPointer, groupBytes: Int, owner: AnyObject) {
        self.data = data
        self.groupBytes = groupBytes
        self.owner = owner
    }

    func advanced(byGroups n: Int) -> PackedWeight {
        PackedWeight(data: data + n * groupBytes, groupBytes: groupBytes, owner: owner)
    }
}

/// Owns a block of f32 memory (for tensors built in memory, e.g. in tests or by converters).
public final class OwnedBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int
    public init(byteCount: Int) {
        self.byteCount = byteCount
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
    }
    deinit { pointer.deallocate() }
}

extension WeightTensor {
    /// An in-memory f32 tensor (tests, small derived weights).
    public static func f32(_ values: [Float], shape: [Int], name: String = "tensor") -> WeightTensor {
        precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
        let buffer = OwnedBuffer(byteCount: values.count * 4)
        values.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return WeightTensor(name: name, dtype: .f32, shape: shape, data: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }

    /// An in-memory bf16 tensor, rounding each value (tests).
    public static func bf16(_ values: [Float], shape: [Int], name: String = "tensor") -> WeightTensor {
        precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
        let buffer = OwnedBuffer(byteCount: values.count * 2)
        let p = buffer.pointer.bindMemory(to: UInt16.self, capacity: values.count)
        for (i, v) in values.enumerated() { p[i] = floatToBF16(v) }
        return WeightTensor(name: name, dtype: .bf16, shape: shape, data: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }
}
