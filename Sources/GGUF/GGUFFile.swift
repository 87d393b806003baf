import TensorCore

/// A GGUF file (version 2 or 3), memory-mapped and fully validated on open: header, every metadata entry,
/// every tensor info (dims, type, offset alignment, data inside the file, no overlaps). Tensors are views
/// into the mapping in their stored `WeightFormat`; nothing is copied.
///
/// Layout (ggml `docs/gguf.md`): magic `GGUF`, u32 version, u64 tensor count, u64 metadata count, the metadata
/// key/values, the tensor infos, padding to `general.alignment` (default 32), then the tensor data, each
/// tensor at an aligned offset relative to the data start. Dims are in ggml order (innermost first);
/// `Tensor.shape` is reversed into PyTorch order.
public final class GGUFFile: @unchecked Sendable {
    /// One tensor info.
    public struct Tensor: Sendable {
        public let name: String
        public let format: WeightFormat
        /// ggml order: `dims[0]` is the innermost (contiguous) axis.
        public let dims: [Int]
        /// Offset of the data from the start of the file.
        public let fileOffset: Int
        public let byteCount: Int
        /// PyTorch order (`dims` reversed), e.g. `[out, in]` for a linear layer.
        public var shape: [Int] { dims.reversed() }
        public var elementCount: Int { dims.reduce(1, *) }
    }

    public let path: String
    public let version: Int
    /// Metadata in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [Tensor]
    public let tensorIndex: [String: Int]
    public let alignment: Int
    /// Offset of the tensor data section.
    public let dataStart: Int
    public var fileSize: Int { mapping.size }

    /// Lets go of the resident pages of a tensor view of this file that has been copied (repacked) and will not
    /// be read again; pages it shares with neighbouring tensors stay. A view from elsewhere is ignored.
    public func releasePages(of t: WeightTensor) { mapping.release(t.data, count: t.byteCount) }
    let mapping: GGUFMapping

    public convenience init(path: String) throws {
        try self.init(mapping: GGUFMapping(path: path), path: path)
    }

    init(mapping: GGUFMapping, path: String) throws {
        self.mapping = mapping
        self.path = path
        var r = Reader(base: mapping.base, size: mapping.size, file: path)
        guard mapping.size >= 4, try r.u32("magic") == 0x4655_4747 else {
            throw GGUFError.notGGUF(file: path, reason: "magic is not \"GGUF\"")
        }
        let version = Int(try r.u32("version"))
        guard version == 2 || version == 3 else {
            throw GGUFError.notGGUF(file: path, reason: "version \(version) (this reader parses versions 2 and 3)")
        }
        self.version = version
        let tensorCount = try r.count("tensor count")
        let kvCount = try r.count("metadata count")

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        for i in 0..<kvCount {
            let key = try r.string("metadata key #\(i)")
            let rawType = try r.u32("type of \(key)")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.invalidMetadata(file: path, key: key, reason: "unknown value type \(rawType)")
            }
            let value = try r.value(type, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw GGUFError.invalidMetadata(file: path, key: key, reason: "duplicate key")
            }
            keys.append(key)
        }
        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard case .uint32(let v) = a, v > 0, v & (v - 1) == 0 else {
                throw GGUFError.invalidMetadata(file: path, key: "general.alignment", reason: "must be a u32 power of two, got \(a)")
            }
            alignment = Int(v)
        }

        var infos: [(name: String, format: WeightFormat, dims: [Int], offset: Int)] = []
        var index: [String: Int] = [:]
        for i in 0..<tensorCount {
            let name = try r.string("tensor name #\(i)")
            let nDims = Int(try r.u32("dims of \(name)"))
            guard (1...4).contains(nDims) else {
                throw GGUFError.invalidTensor(file: path, tensor: name, reason: "\(nDims) dimensions (1…4 allowed)")
            }
            let dims = try (0..<nDims).map { _ in try r.count("dims of \(name)") }
            let rawType = try r.u32("type of \(name)")
            guard let format = WeightFormat(rawValue: rawType) else {
                throw GGUFError.invalidTensor(file: path, tensor: name, reason: "unsupported tensor type \(rawType)")
            }
            let offset = try r.count("offset of \(name)")
            guard index.updateValue(infos.count, forKey: name) == nil else {
                throw GGUFError.invalidTensor(file: path, tensor: name, reason: "duplicate tensor name")
            }
            infos.append((name, format, dims, offset))
        }
        let dataStart = (r.offset + alignment - 1) / alignment * alignment
        var tensors: [Tensor] = []
        for info in infos {
            let reason: String? = {
                guard info.dims[0] % info.format.blockElements == 0 else {
                    return "innermost dimension \(info.dims[0]) is not a multiple of the \(info.format) block (\(info.format.blockElements))"
                }
                return nil
            }()
            if let reason { throw GGUFError.invalidTensor(file: path, tensor: info.name, reason: reason) }
            var rows = 1
            for d in info.dims.dropFirst() {
                let (m, o) = rows.multipliedReportingOverflow(by: d)
                guard !o else { throw GGUFError.invalidTensor(file: path, tensor: info.name, reason: "size overflows") }
                rows = m
            }
            guard let rowBytes = info.format.rowBytes(info.dims[0]) else {
                throw GGUFError.invalidTensor(file: path, tensor: info.name, reason: "size overflows")
            }
            let (bytes, o1) = rows.multipliedReportingOverflow(by: rowBytes)
            guard !o1 else { throw GGUFError.invalidTensor(file: path, tensor: info.name, reason: "size overflows") }
            guard info.offset % alignment == 0 else {
                throw GGUFError.invalidTensor(file: path, tensor: info.name,
                                              reason: "data offset \(info.offset) is not a multiple of the alignment \(alignment)")
            }
            let (start, o2) = dataStart.addingReportingOverflow(info.offset)
            let (end, o3) = start.addingReportingOverflow(bytes)
            guard !o2, !o3, end <= mapping.size else {
                throw GGUFError.invalidTensor(file: path, tensor: info.name,
                                              reason: "data [\(info.offset), +\(bytes)) runs past the end of the file (\(mapping.size) bytes)")
            }
            tensors.append(Tensor(name: info.name, format: info.format, dims: info.dims, fileOffset: start, byteCount: bytes))
        }
        // No two tensors may share bytes.
        let sorted = tensors.sorted { $0.fileOffset < $1.fileOffset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.fileOffset + a.byteCount > b.fileOffset {
            throw GGUFError.invalidTensor(file: path, tensor: b.name, reason: "data overlaps tensor \(a.name)")
        }
        self.metadataKeys = keys
        self.metadata = metadata
        self.tensors = tensors
        self.tensorIndex = index
        self.alignment = alignment
        self.dataStart = dataStart
    }

    /// A view of tensor `name` in its stored format and PyTorch-order shape (retains the mapping).
    public func tensor(_ name: String) -> WeightTensor? {
        guard let i = tensorIndex[name] else { return nil }
        return weightTensor(tensors[i])
    }

    public func weightTensor(_ t: Tensor) -> WeightTensor {
        let base = mapping.base ?? UnsafeRawPointer(bitPattern: 0x40)!
        return WeightTensor(name: t.name, format: t.format, shape: t.shape, data: base + t.fileOffset, owner: mapping)
    }

    // MARK: - Typed metadata access

    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key]?.int else { throw GGUFError.missingKey(file: path, key: key, expected: "an integer") }
        return v
    }
    public func double(_ key: String) throws -> Double {
        guard let v = metadata[key]?.double else { throw GGUFError.missingKey(file: path, key: key, expected: "a number") }
        return v
    }
    public func string(_ key: String) throws -> String {
        guard let v = metadata[key]?.string else { throw GGUFError.missingKey(file: path, key: key, expected: "a string") }
        return v
    }
    public func array(_ key: String) throws -> [GGUFValue] {
        guard let v = metadata[key]?.array else { throw GGUFError.missingKey(file: path, key: key, expected: "an array") }
        return v
    }
}

// MARK: - Bounds-checked reading

/// A cursor over the mapped bytes: every read checks the remaining length first and names what it reads.
struct Reader {
    let base: UnsafeRawPointer?
    let size: Int
    let file: String
    var offset = 0

    mutating func bytes(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= size - offset, let base else {
            if n == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
            throw GGUFError.truncated(file: file, what: what())
        }
        defer { offset += n }
        return UnsafeRawBufferPointer(start: base + offset, count: n)
    }

    mutating func fixed<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let b = try bytes(MemoryLayout<T>.size, what())
        return T(littleEndian: b.loadUnaligned(as: T.self))
    }

    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try fixed(UInt32.self, what()) }

    /// A u64 count or size that must fit `Int`.
    mutating func count(_ what: @autoclosure () -> String) throws -> Int {
        let v = try fixed(UInt64.self, what())
        guard let i = Int(exactly: v), i <= size else {
            throw GGUFError.truncated(file: file, what: "\(what()) (\(v) exceeds the file size)")
        }
        return i
    }

    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let n = try count("length of \(what())")
        let b = try bytes(n, "\(what()) (\(n) bytes)")
        guard let s = String(validating: b, as: UTF8.self) else {
            throw GGUFError.invalidMetadata(file: file, key: what(), reason: "string is not valid UTF-8")
        }
        return s
    }

    mutating func value(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try fixed(UInt8.self, key))
        case .int8: return .int8(try fixed(Int8.self, key))
        case .uint16: return .uint16(try fixed(UInt16.self, key))
        case .int16: return .int16(try fixed(Int16.self, key))
        case .uint32: return .uint32(try fixed(UInt32.self, key))
        case .int32: return .int32(try fixed(Int32.self, key))
        case .float32: return .float32(Float(bitPattern: try fixed(UInt32.self, key)))
        case .uint64: return .uint64(try fixed(UInt64.self, key))
        case .int64: return .int64(try fixed(Int64.self, key))
        case .float64: return .float64(Double(bitPattern: try fixed(UInt64.self, key)))
        case .bool:
            let b = try fixed(UInt8.self, key)
            guard b <= 1 else { throw GGUFError.invalidMetadata(file: file, key: key, reason: "bool byte \(b)") }
            return .bool(b == 1)
        case .string: return .string(try string(key))
        case .array:
            guard depth < 8 else { throw GGUFError.invalidMetadata(file: file, key: key, reason: "arrays nested too deeply") }
            let rawType = try u32("array type of \(key)")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.invalidMetadata(file: file, key: key, reason: "unknown array element type \(rawType)")
            }
            let n = try count("array length of \(key)")
            if let fixedSize = elementType.fixedSize, n > (size - offset) / fixedSize {
                throw GGUFError.truncated(file: file, what: "\(key) (\(n) elements of \(elementType))")
            }
            var values: [GGUFValue] = []
            values.reserveCapacity(min(n, 1 << 20))
            for _ in 0..<n { values.append(try value(elementType, key: key, depth: depth + 1)) }
            return .array(elementType, values)
        }
    }
}
