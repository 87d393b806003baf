import Foundation

/// Writes a safetensors file (f32 and i64 tensors): an 8-byte little-endian header length, the JSON header
/// (names in insertion order, `data_offsets` relative to the data section), then the raw little-endian data.
public struct SafeTensorsWriter {
    enum Payload {
        case f32([Float])
        case i64([Int64])
    }
    private var tensors: [(name: String, shape: [Int], payload: Payload)] = []

    public init() {}

    public mutating func add(_ name: String, shape: [Int], f32 values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
        tensors.append((name, shape, .f32(values)))
    }

    public mutating func add(_ name: String, shape: [Int], i64 values: [Int64]) {
        precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
        tensors.append((name, shape, .i64(values)))
    }

    public func data() -> Data {
        var header = "{"
        var offset = 0
        var body = Data()
        for (i, t) in tensors.enumerated() {
            let bytes: Data
            let dtype: String
            switch t.payload {
            case .f32(let v): bytes = v.withUnsafeBytes { Data($0) }; dtype = "F32"
            case .i64(let v): bytes = v.withUnsafeBytes { Data($0) }; dtype = "I64"
            }
            let shape = t.shape.map(String.init).joined(separator: ",")
            header += (i == 0 ? "" : ",") +
                "\"\(t.name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes.count)]}"
            offset += bytes.count
            body.append(bytes)
        }
        header += "}"
        while (8 + header.utf8.count) % 8 != 0 { header += " " }   // keep the data section 8-byte aligned
        var out = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        out.append(body)
        return out
    }

    public func write(to url: URL) throws {
        try data().write(to: url)
    }
}
