/// Why a tokenizer could not be loaded or used; every case names the file and the problem.
public enum TokenizerError: Error, CustomStringConvertible, Sendable {
    case missingFile(String)
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unsupported(path: String, component: String)
    case invalidUTF8(String)

    public var description: String {
        switch self {
        case .missingFile(let p): "\(p): no such file (a model directory needs tokenizer.json)"
        case .unreadable(let p, let r): "\(p): cannot read: \(r)"
        case .malformed(let p, let r): "\(p): malformed tokenizer file: \(r)"
        case .unsupported(let p, let c): "\(p): unsupported tokenizer component: \(c)"
        case .invalidUTF8(let what): "\(what): not valid UTF-8 text"
        }
    }
}
