import Foundation
import TensorCore

/// A checkpoint's tensors, memory-mapped and strictly accounted for.
///
/// Opening validates every header (see `SafeTensorsFile`) and, for a sharded checkpoint, that the index and
/// the shards agree, so that a bad file fails before any layer is built. Afterwards every tensor must be
/// `take`n by a layer (with its exact shape, and dtype when the caller restricts it) or skipped by a named
/// rule; `finish()` reports the rest. This mirrors mlx-swift-lm's `verify: [.all]` and llama.cpp's
/// "wrong number of tensors" check: a checkpoint that does not match the model is an error, not a warning.
///
/// Files are mapped, never read: `take` returns a view into the mapping (retained by the returned
/// `WeightTensor`). A failed open releases every mapping it made.
public final class WeightStore: @unchecked Sendable {
    /// One tensor of the checkpoint.
    public struct Entry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// File name (inside the model directory) that holds the tensor.
        public let file: String
        /// Byte offset of the data in the file.
        let offset: Int
        let fileIndex: Int

        public var elementCount: Int { shape.reduce(1, *) }
        public var byteCount: Int { elementCount * dtype.byteSize }
    }

    /// One safetensors file of the checkpoint.
    public struct FileInfo: Sendable {
        /// File name inside the model directory.
        public let name: String
        public let path: String
        /// Size of the file on disk (the bytes mapped).
        public let fileSize: Int
        public let headerLength: Int
        public let tensorCount: Int
        /// Sum of the file's tensor data sizes.
        public let tensorBytes: Int
        /// The header's `__metadata__` (e.g. `["format": "pt"]`).
        public let metadata: [String: String]
    }

    /// Reported while opening (one call per validated file) and while loading (one call per tensor taken or
    /// skipped), e.g. to draw a progress bar. Called on the thread doing the work.
    public struct Progress: Sendable {
        public enum Stage: Sendable, Equatable {
            /// Mapping and validating files: bytes are file sizes, tensors are those validated so far.
            case opening
            /// Layers taking tensors: bytes and counts of tensors taken or skipped so far.
            case loading
        }
        public let stage: Stage
        public let completedBytes: Int
        public let totalBytes: Int
        public let completedTensors: Int
        public let totalTensors: Int
        public var fractionCompleted: Double { totalBytes == 0 ? 1 : Double(completedBytes) / Double(totalBytes) }
    }

    /// All tensors by name.
    public let entries: [String: Entry]
    /// The safetensors files, in load order (index order for a sharded checkpoint).
    public let files: [FileInfo]
    /// Sum of all tensor data sizes (what the model can touch; file sizes add the headers).
    public let totalBytes: Int
    /// Sum of the file sizes (what is mapped).
    public var mappedBytes: Int { files.reduce(0) { $0 + $1.fileSize } }
    /// Where missing tensors were looked for, for messages: the single file or the index path.
    public let source: String

    private let mappings: [SafeTensorsFile]
    private let progress: (@Sendable (Progress) -> Void)?
    private let lock = NSLock()
    private var consumed: Set<String> = []
    private var consumedBytes = 0

    // MARK: - Opening

    /// One safetensors file on its own (e.g. a reference-activations file in tests).
    public convenience init(file: URL, progress: (@Sendable (Progress) -> Void)? = nil) throws {
        let path = file.path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw WeightStoreError.fileNotFound(path: path)
        }
        guard !isDir.boolValue else { throw WeightStoreError.cannotRead(path: path, reason: "is a directory") }
        try self.init(
            directory: file.deletingLastPathComponent(), names: [file.lastPathComponent], index: nil,
            source: path, progress: progress)
    }

    /// A model directory: `model.safetensors`, or the shards listed in `model.safetensors.index.json`.
    /// Like transformers, a single `model.safetensors` wins when both are present. `config.json` is not read.
    public convenience init(directory: URL, progress: (@Sendable (Progress) -> Void)? = nil) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw WeightStoreError.directoryNotFound(path: directory.path)
        }
        let single = directory.appendingPathComponent("model.safetensors")
        let indexURL = directory.appendingPathComponent(ShardIndex.fileName)
        if fm.fileExists(atPath: single.path) {
            try self.init(directory: directory, names: ["model.safetensors"], index: nil, source: single.path, progress: progress)
        } else if fm.fileExists(atPath: indexURL.path) {
            let index = try ShardIndex(path: indexURL.path)
            try self.init(directory: directory, names: index.shardNames, index: index, source: indexURL.path, progress: progress)
        } else {
            throw WeightStoreError.noCheckpoint(directory: directory.path)
        }
    }

    /// Maps and validates `names`; everything is built in locals, so a throw releases every mapping.
    private init(
        directory: URL, names: [String], index: ShardIndex?, source: String,
        progress: (@Sendable (Progress) -> Void)?
    ) throws {
        let paths = names.map { directory.appendingPathComponent($0).path }
        // Every shard must exist before anything is mapped, so "missing shard" is reported as such.
        let sizes: [Int] = try zip(names, paths).map { name, path in
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else {
                if let index {
                    let example = index.weightMap.first { $0.value == name }?.key ?? "?"
                    throw WeightStoreError.invalidIndex(
                        file: source, reason: "shard \(name) (holding e.g. \(example)) is missing")
                }
                throw WeightStoreError.fileNotFound(path: path)
            }
            return (attrs[.size] as? NSNumber)?.intValue ?? 0
        }
        let totalFileBytes = sizes.reduce(0, +)

        var opened: [SafeTensorsFile] = []
        var entries: [String: Entry] = [:]
        var infos: [FileInfo] = []
        var mappedSoFar = 0
        for (fileIndex, (name, path)) in zip(names, paths).enumerated() {
            let f = try SafeTensorsFile(path: path, name: path)
            for r in f.tensors {
                if let other = entries[r.name] {
                    throw WeightStoreError.duplicateTensor(tensor: r.name, files: [paths[other.fileIndex], path])
                }
                if let index, index.weightMap[r.name] != name {
                    let listed = index.weightMap[r.name].map { "maps it to \($0)" } ?? "does not list it"
                    throw WeightStoreError.invalidIndex(
                        file: source, reason: "shard \(name) holds tensor \(r.name), but the index \(listed)")
                }
                entries[r.name] = Entry(
                    name: r.name, dtype: r.dtype, shape: r.shape, file: name,
                    offset: f.dataStart + r.dataRange.lowerBound, fileIndex: fileIndex)
            }
            infos.append(FileInfo(
                name: name, path: path, fileSize: f.mapping.size, headerLength: f.headerLength,
                tensorCount: f.tensors.count, tensorBytes: f.tensors.reduce(0) { $0 + $1.dataRange.count },
                metadata: f.metadata))
            opened.append(f)
            mappedSoFar += sizes[fileIndex]
            progress?(Progress(
                stage: .opening, completedBytes: mappedSoFar, totalBytes: totalFileBytes,
                completedTensors: entries.count, totalTensors: entries.count))
        }
        if let index {
            // Every tensor the index lists must be in the shard it names.
            for (tensor, shard) in index.weightMap.sorted(by: { $0.key < $1.key }) where entries[tensor] == nil {
                throw WeightStoreError.invalidIndex(
                    file: source, reason: "tensor \(tensor) is mapped to \(shard), which does not contain it")
            }
        }
        self.entries = entries
        self.files = infos
        self.mappings = opened
        self.totalBytes = entries.values.reduce(0) { $0 + $1.byteCount }
        self.source = source
        self.progress = progress
    }

    // MARK: - Consuming

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The element types a weight may have. Integer tensors (token ids in reference files) are never weights:
    /// an I64 `q_proj.weight` used to load and be read as floats.
    public static let weightDTypes: Set<DType> = [.f32, .f16, .bf16]

    /// The tensor `name`, checked against `shape` and against `weightDTypes`, and marked consumed (use
    /// `take(_:shape:dtypes:)` for other dtypes). Taking a tensor twice is allowed (tied embeddings).
    public func take(_ name: String, shape: [Int]) throws -> WeightTensor {
        try take(name, shape: shape, dtypes: Self.weightDTypes)
    }

    /// The tensor `name`, checked against `shape` and against the accepted `dtypes`, and marked consumed.
    public func take(_ name: String, shape: [Int], dtypes: Set<DType>) throws -> WeightTensor {
        guard let e = entries[name] else { throw WeightStoreError.missingTensor(tensor: name, source: source) }
        let path = files[e.fileIndex].path
        guard e.shape == shape else {
            throw WeightStoreError.shapeMismatch(tensor: name, file: path, found: e.shape, expected: shape)
        }
        if !dtypes.contains(e.dtype) {
            throw WeightStoreError.dtypeMismatch(
                tensor: name, file: path, found: e.dtype, accepted: dtypes.sorted { $0.rawValue < $1.rawValue })
        }
        markConsumed([e])
        let file = mappings[e.fileIndex]
        let base = file.mapping.base ?? UnsafeRawPointer(bitPattern: 0x40)!
        let pointer = base + e.offset
        if Int(bitPattern: pointer) % e.dtype.byteSize == 0 {
            return WeightTensor(name: name, dtype: e.dtype, shape: e.shape, data: pointer, owner: file.mapping)
        }
        // The format does not promise element alignment (only writers that pad the header give it). Kernels
        // load elements with aligned loads, so a misaligned tensor gets an aligned private copy.
        let copy = OwnedBuffer(byteCount: e.byteCount)
        copy.pointer.copyMemory(from: pointer, byteCount: e.byteCount)
        return WeightTensor(name: name, dtype: e.dtype, shape: e.shape, data: UnsafeRawPointer(copy.pointer), owner: copy)
    }

    /// Marks every tensor whose name matches as deliberately unused (e.g. `mtp.*`, `model.visual.*`).
    /// Returns how many tensors matched.
    @discardableResult
    public func skip(where rule: (String) -> Bool) -> Int {
        let matched = entries.values.filter { rule($0.name) }
        markConsumed(matched)
        return matched.count
    }

    /// Names neither taken nor skipped yet, sorted.
    public var unconsumed: [String] {
        lock.lock()
        defer { lock.unlock() }
        return entries.keys.filter { !consumed.contains($0) }.sorted()
    }

    /// Throws if a tensor was neither taken nor skipped.
    public func finish() throws {
        let rest = unconsumed
        if let first = rest.first, let e = entries[first] {
            throw WeightStoreError.unconsumedTensors(names: rest, file: files[e.fileIndex].path)
        }
    }

    private func markConsumed(_ list: [Entry]) {
        lock.lock()
        for e in list where consumed.insert(e.name).inserted { consumedBytes += e.byteCount }
        let report = Progress(
            stage: .loading, completedBytes: consumedBytes, totalBytes: totalBytes,
            completedTensors: consumed.count, totalTensors: entries.count)
        lock.unlock()
        progress?(report)
    }
}
