import TensorCore
import JSON

/// One tensor as declared by a safetensors header, after validation.
struct TensorRecord: Sendable {
    let name: String
    let dtype: DType
    let shape: [Int]
    /// Byte range inside the file's data section (after the 8-byte length and the header).
    let dataRange: Range<Int>
}

/// One memory-mapped safetensors file with its validated header.
///
/// Layout (safetensors format): 8-byte little-endian header length `N`, `N` bytes of JSON header, then the
/// data section. The header maps tensor names to `{"dtype", "shape", "data_offsets": [begin, end]}` with
/// offsets relative to the data section, plus an optional `"__metadata__"` string→string map.
/// Everything is checked at open, so later `take`s cannot read outside the file.
struct SafeTensorsFile: Sendable {
    /// The name used in messages (file name inside the model directory).
    let name: String
    let mapping: MappedFile
    let headerLength: Int
    /// Byte offset of the data section in the file (8 + headerLength).
    let dataStart: Int
    /// Tensors in header order.
    let tensors: [TensorRecord]
    let metadata: [String: String]

    /// Headers above this size are refused (the reference implementation's limit is 100 MB as well).
    static let maxHeaderLength = 100_000_000

    init(path: String, name: String) throws {
        let mapping = try MappedFile(path: path)
        self.name = name
        self.mapping = mapping
        guard mapping.size >= 8 else {
            throw WeightStoreError.truncated(
                file: name, reason: "\(mapping.size) bytes, shorter than the 8-byte header length")
        }
        let n = mapping.bytes(0..<8).loadUnaligned(as: UInt64.self).littleEndian
        guard n <= UInt64(mapping.size - 8) else {
            throw WeightStoreError.truncated(
                file: name, reason: "header length \(n) runs past the end of the \(mapping.size)-byte file")
        }
        guard n <= UInt64(Self.maxHeaderLength) else {
            throw WeightStoreError.invalidHeader(file: name, reason: "header length \(n) exceeds \(Self.maxHeaderLength) bytes")
        }
        headerLength = Int(n)
        dataStart = 8 + headerLength
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes: mapping.bytes(8..<dataStart))
        } catch let e as JSONParseError {
            throw WeightStoreError.invalidHeader(file: name, reason: e.description)
        }
        (tensors, metadata) = try Self.validate(json, file: name, dataLength: mapping.size - dataStart)
    }

    /// Pointer to the first byte of `record`'s data.
    func pointer(to record: TensorRecord) -> UnsafeRawPointer {
        // Non-empty data implies a non-empty file, hence a mapping; an empty tensor needs any valid address.
        let base = mapping.base ?? UnsafeRawPointer(bitPattern: 0x40)!
        return base + dataStart + record.dataRange.lowerBound
    }

    // MARK: - Validation

    private static func validate(
        _ json: JSONValue, file: String, dataLength: Int
    ) throws -> ([TensorRecord], [String: String]) {
        guard case .object(let members) = json else {
            throw WeightStoreError.invalidHeader(file: file, reason: "expected a JSON object, found \(json.typeName)")
        }
        var records: [TensorRecord] = []
        var metadata: [String: String] = [:]
        records.reserveCapacity(members.count)
        for (key, value) in members {
            if key == "__metadata__" {
                metadata = try parseMetadata(value, file: file)
            } else {
                records.append(try parseTensor(key, value, file: file, dataLength: dataLength))
            }
        }
        try checkOverlaps(records, file: file)
        return (records, metadata)
    }

    private static func parseMetadata(_ value: JSONValue, file: String) throws -> [String: String] {
        guard case .object(let members) = value else {
            throw WeightStoreError.invalidHeader(file: file, reason: "__metadata__ must be an object, found \(value.typeName)")
        }
        var out: [String: String] = [:]
        for (k, v) in members {
            guard case .string(let s) = v else {
                throw WeightStoreError.invalidHeader(
                    file: file, reason: "__metadata__.\(k) must be a string, found \(v.typeName)")
            }
            out[k] = s
        }
        return out
    }

    private static func parseTensor(_ name: String, _ value: JSONValue, file: String, dataLength: Int) throws -> TensorRecord {
        func bad(_ reason: String) -> WeightStoreError { .invalidTensor(file: file, tensor: name, reason: reason) }
        guard !name.isEmpty else { throw bad("empty tensor name") }
        guard case .object(let fields) = value else { throw bad("entry must be an object, found \(value.typeName)") }
        var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
        for (k, v) in fields {
            switch k {
            case "dtype": dtypeValue = v
            case "shape": shapeValue = v
            case "data_offsets": offsetsValue = v
            default: throw bad("unknown field \"\(k)\"")
            }
        }
        guard let dtypeValue else { throw bad("missing field dtype") }
        guard let shapeValue else { throw bad("missing field shape") }
        guard let offsetsValue else { throw bad("missing field data_offsets") }

        guard case .string(let dtypeName) = dtypeValue else { throw bad("dtype must be a string, found \(dtypeValue.typeName)") }
        guard let dtype = DType(rawValue: dtypeName) else {
            let known = DType.allCases.map(\.rawValue).joined(separator: ", ")
            throw bad("unsupported dtype \"\(dtypeName)\" (supported: \(known))")
        }
        let shape = try nonNegativeInts(shapeValue, field: "shape", bad: bad)
        let offsets = try nonNegativeInts(offsetsValue, field: "data_offsets", bad: bad)
        guard offsets.count == 2 else { throw bad("data_offsets must have 2 entries, found \(offsets.count)") }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw bad("data_offsets [\(begin), \(end)] are reversed") }
        guard end <= dataLength else {
            throw bad("data_offsets [\(begin), \(end)] run past the end of the data section (\(dataLength) bytes; file truncated?)")
        }
        var bytes = dtype.byteSize
        for d in shape {
            let (p, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard !overflow else { throw bad("shape \(shape) is too large") }
            bytes = p
        }
        guard end - begin == bytes else {
            throw bad("data_offsets [\(begin), \(end)] span \(end - begin) bytes, but shape \(shape) × \(dtype) needs \(bytes)")
        }
        return TensorRecord(name: name, dtype: dtype, shape: shape, dataRange: begin..<end)
    }

    private static func nonNegativeInts(
        _ value: JSONValue, field: String, bad: (String) -> WeightStoreError
    ) throws -> [Int] {
        guard case .array(let items) = value else { throw bad("\(field) must be an array, found \(value.typeName)") }
        return try items.map { item in
            // Exact integers only: a float (`2.0`) or an integer beyond 64 bits is refused, not rounded.
            if case .bigInt(let digits) = item { throw bad("\(field) entry \(digits) is out of range") }
            guard case .int(let v) = item else { throw bad("\(field) entries must be integers, found \(item.typeName)") }
            guard v >= 0 else { throw bad("\(field) entry \(v) is negative") }
            return v
        }
    }

    /// Two tensors may not share bytes (gaps are tolerated; they are only wasted space).
    private static func checkOverlaps(_ records: [TensorRecord], file: String) throws {
        let sorted = records.filter { !$0.dataRange.isEmpty }.sorted { $0.dataRange.lowerBound < $1.dataRange.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.dataRange.lowerBound < a.dataRange.upperBound {
            throw WeightStoreError.invalidTensor(
                file: file, tensor: b.name,
                reason: "data_offsets [\(b.dataRange.lowerBound), \(b.dataRange.upperBound)] overlap tensor \(a.name) "
                    + "[\(a.dataRange.lowerBound), \(a.dataRange.upperBound)]")
        }
    }
}
