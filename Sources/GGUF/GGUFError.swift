/// Everything that can go wrong reading a GGUF file. Each case names the file and the key or tensor, so the
/// one-line `description` is enough to find the problem.
public enum GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    case fileNotFound(path: String)
    case cannotRead(path: String, reason: String)
    /// Not a GGUF file (magic), or a version this reader does not parse.
    case notGGUF(file: String, reason: String)
    /// A read would run past the end of the file (`what` names the field being read).
    case truncated(file: String, what: String)
    /// A metadata entry is malformed (bad type code, bad UTF-8, duplicate key, …).
    case invalidMetadata(file: String, key: String, reason: String)
    /// A tensor info is malformed (dims, type, offset, size, duplicate name).
    case invalidTensor(file: String, tensor: String, reason: String)
    /// A metadata key the caller requires is absent or has the wrong type.
    case missingKey(file: String, key: String, expected: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file"
        case let .cannotRead(path, reason): return "\(path): cannot read (\(reason))"
        case let .notGGUF(file, reason): return "\(file): not a GGUF file (\(reason))"
        case let .truncated(file, what): return "\(file): truncated GGUF file (reading \(what))"
        case let .invalidMetadata(file, key, reason): return "\(file): metadata \(key): \(reason)"
        case let .invalidTensor(file, tensor, reason): return "\(file): tensor \(tensor): \(reason)"
        case let .missingKey(file, key, expected): return "\(file): metadata \(key) missing or not \(expected)"
        }
    }
}
