/// A read-only view of one stored tensor, usually inside a memory-mapped checkpoint file. The `owner`
/// keeps the mapping alive for as long as any view of it exists. Weights never get an f32 copy: kernels read
/// `data` in its stored `dtype`.
public struct WeightTensor: @unchecked Sendable {
    public let name: String
    public let dtype: DType
    /// PyTorch order, e.g. `[out, in]` for a linear layer.
    public let shape: [Int]
    public let data: UnsafeRawPointer
    private let owner: AnyObject?

    public init(name: String, dtype: DType, shape: [Int], data: UnsafeRawPointer, owner: AnyObject?) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.data = data
        self.owner = owner
    }

    public var elementCount: Int { shape.reduce(1, *) }
    public var byteCount: Int { elementCount * dtype.byteSize }

    /// Element `i` (flat index) as f32. For small tensors and reference code, not for hot loops.
    @inline(__always)
    public func scalar(_ i: Int) -> Float {
        switch dtype {
        case .f32: data.load(fromByteOffset: i &* 4, as: Float.self)
        case .bf16: bf16ToFloat(data.load(fromByteOffset: i &* 2, as: UInt16.self))
        case .f16: f16ToFloat(data.load(fromByteOffset: i &* 2, as: UInt16.self))
        case .i64: Float(data.loadUnaligned(fromByteOffset: i &* 8, as: Int64.self))
        }
    }

    /// The whole tensor widened to f32. Only for small tensors (norm weights, A_log, dt_bias, conv taps).
    public func toFloats() -> [Float] {
        (0..<elementCount).map(scalar)
    }

    /// A view of `count` consecutive rows starting at `row` of the leading axis (e.g. one expert of a
    /// fused `[E, out, in]` tensor).
    public func slice(row: Int, count: Int = 1, dropLeading: Bool) -> WeightTensor {
        precondition(row >= 0 && row + count <= shape[0], "\(name): slice \(row)+\(count) out of \(shape[0])")
        let inner = shape.dropFirst().reduce(1, *)
        let newShape = dropLeading && count == 1 ? Array(shape.dropFirst()) : [count] + shape.dropFirst()
        return WeightTensor(name: name, dtype: dtype, shape: newShape,
                            data: data + row * inner * dtype.byteSize, owner: owner)
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
