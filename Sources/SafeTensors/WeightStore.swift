import Foundation
import TensorCore

/// PLACEHOLDER minimal loader (the strict, fully validated one replaces it behind the same API).
/// A checkpoint directory's tensors, memory-mapped. Every tensor must be `take`n by a layer or skipped by a
/// named rule; `finish()` reports the rest.
public final class WeightStore: @unchecked Sendable {
    public struct Entry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let file: String
        let offset: Int
        let fileIndex: Int
    }

    public private(set) var entries: [String: Entry] = [:]
    private var consumed: Set<String> = []
    private var files: [MappedFile] = []

    /// One safetensors file on its own (e.g. a reference-activations file in tests).
    public init(file: URL) throws {
        try load(directory: file.deletingLastPathComponent(), names: [file.lastPathComponent])
    }

    public init(directory: URL) throws {
        let fm = FileManager.default
        let single = directory.appendingPathComponent("model.safetensors")
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        var names: [String] = []
        if fm.fileExists(atPath: index.path) {
            struct Index: Decodable { let weight_map: [String: String] }
            let idx = try JSONDecoder().decode(Index.self, from: Data(contentsOf: index))
            names = Array(Set(idx.weight_map.values)).sorted()
        } else if fm.fileExists(atPath: single.path) {
            names = ["model.safetensors"]
        } else {
            throw WeightStoreError.message("\(directory.path): no model.safetensors or model.safetensors.index.json")
        }
        try load(directory: directory, names: names)
    }

    private func load(directory: URL, names: [String]) throws {
        for name in names {
            let mf = try MappedFile(url: directory.appendingPathComponent(name))
            let fi = files.count
            files.append(mf)
            let headerLen = Int(mf.base.loadUnaligned(as: UInt64.self))
            let json = Data(bytes: mf.base + 8, count: headerLen)
            let obj = try JSONSerialization.jsonObject(with: json) as! [String: Any]
            for (k, v) in obj where k != "__metadata__" {
                let d = v as! [String: Any]
                let dtype = DType(rawValue: d["dtype"] as! String)!
                let shape = d["shape"] as! [Int]
                let offs = d["data_offsets"] as! [Int]
                entries[k] = Entry(name: k, dtype: dtype, shape: shape, file: name, offset: 8 + headerLen + offs[0], fileIndex: fi)
            }
        }
    }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The tensor `name`, checked against `shape`, and marked consumed.
    public func take(_ name: String, shape: [Int]) throws -> WeightTensor {
        guard let e = entries[name] else { throw WeightStoreError.message("missing tensor \(name)") }
        guard e.shape == shape else {
            throw WeightStoreError.message("\(e.file): tensor \(name) has shape \(e.shape), expected \(shape)")
        }
        consumed.insert(name)
        return WeightTensor(name: name, dtype: e.dtype, shape: e.shape, data: UnsafeRawPointer(files[e.fileIndex].base + e.offset), owner: files[e.fileIndex])
    }

    /// Marks every tensor whose name matches as deliberately unused (e.g. `mtp.*`, `model.visual.*`).
    public func skip(where rule: (String) -> Bool) {
        for name in entries.keys where rule(name) { consumed.insert(name) }
    }

    /// Throws if a tensor was neither taken nor skipped.
    public func finish() throws {
        let rest = entries.keys.filter { !consumed.contains($0) }.sorted()
        if let first = rest.first, let e = entries[first] {
            throw WeightStoreError.message("\(e.file): unexpected tensor \(first) (\(rest.count) unconsumed)")
        }
    }
}

public enum WeightStoreError: Error, CustomStringConvertible {
    case message(String)
    public var description: String {
        switch self { case .message(let m): m }
    }
}

/// A read-only memory mapping of a whole file.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeRawPointer
    let size: Int
    init(url: URL) throws {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw WeightStoreError.message("\(url.path): cannot open") }
        defer { close(fd) }
        var st = stat()
        fstat(fd, &st)
        size = Int(st.st_size)
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw WeightStoreError.message("\(url.path): mmap failed")
        }
        base = UnsafeRawPointer(p)
    }
    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }
}
