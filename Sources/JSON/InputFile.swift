#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Opening a file that a user or a model directory names (config, tokenizer, template, checkpoint, chat, text).
/// Only regular files are read: a FIFO blocks in `open` until a writer comes, `/dev/zero` never ends and a
/// directory gives Foundation's misleading "permission" errors. The check happens on the opened descriptor
/// (opened non-blocking, so a FIFO cannot stall the open itself), never on a separately `stat`ed path.
public enum InputFile {
    /// A read-only descriptor of the regular file at `path` and its size; the caller closes it.
    public static func open(_ path: String) throws -> (fd: Int32, size: Int) {
        #if canImport(Glibc)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        #else
        let fd = Darwin.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        #endif
        guard fd >= 0 else { throw InputFileError(path: path, errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = InputFileError(path: path, errno: errno)
            close(fd)
            throw e
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw InputFileError(path: path, kind: .notRegular(describe(mode: st.st_mode)))
        }
        return (fd, Int(st.st_size))
    }

    /// The whole content of the regular file at `path`, refused past `maxBytes`.
    public static func read(_ path: String, maxBytes: Int = 4 << 30) throws -> Data {
        let (fd, size) = try open(path)
        defer { close(fd) }
        guard size <= maxBytes else { throw InputFileError(path: path, kind: .tooLarge(size: size, limit: maxBytes)) }
        var data = Data(count: size)
        var done = 0
        while done < size {
            let n = data.withUnsafeMutableBytes { buffer in
                #if canImport(Glibc)
                Glibc.read(fd, buffer.baseAddress! + done, size - done)
                #else
                Darwin.read(fd, buffer.baseAddress! + done, size - done)
                #endif
            }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw InputFileError(path: path, errno: errno) }
            if n == 0 { data.count = done; break }  // the file shrank while being read
            done += n
        }
        return data
    }

    /// The UTF-8 text of the regular file at `path`.
    public static func readText(_ path: String, maxBytes: Int = 4 << 30) throws -> String {
        let data = try read(path, maxBytes: maxBytes)
        guard let text = String(data: data, encoding: .utf8) else { throw InputFileError(path: path, kind: .notUTF8) }
        return text
    }

    static func describe(mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "a special file"
        }
    }
}

/// Why a file could not be read, in one line that names it: "/m/model.safetensors is not a regular file (a FIFO)".
public struct InputFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case notFound
        case notRegular(String)
        case tooLarge(size: Int, limit: Int)
        case notUTF8
        case system(String)
    }

    public var path: String
    public var kind: Kind

    public init(path: String, kind: Kind) {
        self.path = path
        self.kind = kind
    }

    init(path: String, errno code: Int32) {
        self.init(path: path, kind: code == ENOENT ? .notFound : .system(String(cString: strerror(code))))
    }

    /// The reason without the path.
    public var reason: String {
        switch kind {
        case .notFound: return "no such file"
        case .notRegular(let what): return "is not a regular file (\(what))"
        case .tooLarge(let size, let limit): return "is \(size) bytes, more than the limit of \(limit)"
        case .notUTF8: return "is not UTF-8 text"
        case .system(let message): return message.prefix(1).lowercased() + message.dropFirst()
        }
    }

    public var description: String {
        switch kind {
        case .notFound, .system: return "\(path): \(reason)"
        default: return "\(path) \(reason)"
        }
    }
}
