import TensorCore

/// Everything that can go wrong opening or consuming a checkpoint. Each case names the file (and the tensor
/// or field) so that the one-line `description` is enough to find the problem.
public enum WeightStoreError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Free-form message (kept for callers of the first placeholder API).
    case message(String)
    /// The model directory does not exist or is not a directory.
    case directoryNotFound(path: String)
    /// The directory holds neither `model.safetensors` nor `model.safetensors.index.json`.
    case noCheckpoint(directory: String)
    /// A safetensors file that should exist (given directly or listed in the index) is missing.
    case fileNotFound(path: String)
    /// `open`/`fstat`/`mmap` failed, or the path is not a regular file.
    case cannotRead(path: String, reason: String)
    /// The file is shorter than its 8-byte header length or than the header it announces.
    case truncated(file: String, reason: String)
    /// The header is not valid JSON or a field has the wrong JSON type.
    case invalidHeader(file: String, reason: String)
    /// One tensor's header entry is inconsistent (dtype, shape, data_offsets).
    case invalidTensor(file: String, tensor: String, reason: String)
    /// `model.safetensors.index.json` is malformed or disagrees with its shards.
    case invalidIndex(file: String, reason: String)
    /// A tensor appears in two files of one checkpoint.
    case duplicateTensor(tensor: String, files: [String])
    /// `take` asked for a tensor that the checkpoint does not have.
    case missingTensor(tensor: String, source: String)
    /// `take` found the tensor with another shape.
    case shapeMismatch(tensor: String, file: String, found: [Int], expected: [Int])
    /// `take` found the tensor with a dtype the caller does not accept.
    case dtypeMismatch(tensor: String, file: String, found: DType, accepted: [DType])
    /// `finish` found tensors that were neither taken nor skipped (sorted; `file` is the first one's).
    case unconsumedTensors(names: [String], file: String)

    public var description: String {
        switch self {
        case .message(let m):
            return m
        case .directoryNotFound(let path):
            return "\(path): no such model directory"
        case .noCheckpoint(let dir):
            return "\(dir): no model.safetensors or model.safetensors.index.json"
        case .fileNotFound(let path):
            return "\(path): no such file"
        case let .cannotRead(path, reason):
            return "\(path): cannot read (\(reason))"
        case let .truncated(file, reason):
            return "\(file): truncated safetensors file (\(reason))"
        case let .invalidHeader(file, reason):
            return "\(file): invalid safetensors header: \(reason)"
        case let .invalidTensor(file, tensor, reason):
            return "\(file): tensor \(tensor): \(reason)"
        case let .invalidIndex(file, reason):
            return "\(file): \(reason)"
        case let .duplicateTensor(tensor, files):
            return "tensor \(tensor) appears in more than one file: \(files.joined(separator: ", "))"
        case let .missingTensor(tensor, source):
            return "\(source): missing tensor \(tensor)"
        case let .shapeMismatch(tensor, file, found, expected):
            return "\(file): tensor \(tensor) has shape \(found), expected \(expected)"
        case let .dtypeMismatch(tensor, file, found, accepted):
            let list = accepted.map(\.rawValue).sorted().joined(separator: "/")
            return "\(file): tensor \(tensor) has dtype \(found), expected \(list)"
        case let .unconsumedTensors(names, file):
            let shown = names.prefix(5).joined(separator: ", ")
            let more = names.count > 5 ? ", …" : ""
            return "\(file): unexpected tensor \(names.first ?? "?") (\(names.count) neither loaded nor skipped: \(shown)\(more))"
        }
    }
}
