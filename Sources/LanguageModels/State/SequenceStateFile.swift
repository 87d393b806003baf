import Foundation
import TensorCore

/// A sequence's whole state on disk and back (llama.cpp's `llama_state_seq_save_file`): the position, every
/// attention layer's KV rows in the pool's stored type (copied byte for byte, so a restore is exact for every
/// `KVType`), every Gated DeltaNet layer's conv and delta state as f32. A long prefill can stop and resume from
/// it. `tag` says what the state belongs to (model, prompt) and must match on read; `info` is free text kept
/// beside it (e.g. the compute seconds spent so far).
///
/// Layout, little-endian: "QKSTATE1", tag, info (u32 length + UTF-8 each), position i64, layer count u32, per
/// layer: kind u8 (0 attention, 1 recurrent); attention: KV type name, heads u32, head_dim u32, rows i64, then all
/// key rows and all value rows (whatever the page size); recurrent: conv count i64, delta count i64, the floats;
/// "QKEND".
public enum SequenceStateFile {
    static let magic = Array("QKSTATE1".utf8), end = Array("QKEND".utf8)

    /// Writes `state` to `url` through a temporary file, flushed to disk and renamed into place, so an
    /// interrupted write (or a crash of the machine) leaves the previous file intact.
    public static func write(_ state: SequenceState, tag: String, info: String, to url: URL) throws {
        let tmp = url.path + ".tmp"
        guard let f = fopen(tmp, "wb") else { throw SequenceStateFileError.cannotOpen(tmp, String(cString: strerror(errno))) }
        var closed = false, renamed = false
        defer {
            if !closed { fclose(f) }
            if !renamed { unlink(tmp) }
        }
        let w = Writer(file: f, path: tmp)
        try w.bytes(magic)
        try w.string(tag)
        try w.string(info)
        try w.int(Int64(state.position))
        try w.int(UInt32(state.layers.count))
        for layer in state.layers {
            switch layer {
            case .attention(let kv):
                try w.int(UInt8(0))
                try w.string(kv.type.rawValue)
                try w.int(UInt32(kv.kvHeads))
                try w.int(UInt32(kv.headDim))
                try w.int(Int64(kv.count))
                let rowBytes = kv.pool.rowBytes
                try kv.storedRuns { keys, _, rows in try w.raw(keys, rows * rowBytes) }
                try kv.storedRuns { _, values, rows in try w.raw(values, rows * rowBytes) }
            case .recurrent(let r):
                try w.int(UInt8(1))
                try w.int(Int64(r.conv.count))
                try w.int(Int64(r.ssm.count))
                try r.conv.withUnsafeBytes { if let p = $0.baseAddress { try w.raw(p, $0.count) } }
                try r.ssm.withUnsafeBytes { if let p = $0.baseAddress { try w.raw(p, $0.count) } }
            }
        }
        try w.bytes(end)
        guard fflush(f) == 0, fsync(fileno(f)) == 0 else { throw SequenceStateFileError.io(tmp, "write: " + String(cString: strerror(errno))) }
        closed = true
        guard fclose(f) == 0 else { throw SequenceStateFileError.io(tmp, "close: " + String(cString: strerror(errno))) }
        guard rename(tmp, url.path) == 0 else { throw SequenceStateFileError.io(url.path, "rename: " + String(cString: strerror(errno))) }
        renamed = true
    }

    /// The `info` of the state in `url` and the state itself, read into `fresh` (a new state of the same model,
    /// whose geometry every layer must match) at a position below `maxPosition` (the model's context). Throws
    /// naming the problem: another tag, another model's layers, a position out of range, a truncated, corrupt
    /// or foreign file. Memory read never exceeds what the file holds: rows are read a page at a time.
    public static func read(from url: URL, tag: String, into fresh: SequenceState, maxPosition: Int) throws -> (state: SequenceState, info: String) {
        guard let f = fopen(url.path, "rb") else { throw SequenceStateFileError.cannotOpen(url.path, String(cString: strerror(errno))) }
        defer { fclose(f) }
        let r = Reader(file: f, path: url.path)
        guard try r.bytes(magic.count) == magic else { throw SequenceStateFileError.notAStateFile(url.path) }
        let found = try r.string()
        guard found == tag else { throw SequenceStateFileError.tagMismatch(url.path, found: found, expected: tag) }
        let info = try r.string()
        var state = fresh
        let position = try r.int(Int64.self)
        guard position >= 0, position < maxPosition else {
            throw SequenceStateFileError.corrupt(url.path, "position \(position) outside the context 0..<\(maxPosition)")
        }
        state.position = Int(position)
        let layers = Int(try r.int(UInt32.self))
        guard layers == fresh.layers.count else {
            throw SequenceStateFileError.geometry(url.path, "\(layers) layers in the file, the model has \(fresh.layers.count)")
        }
        for i in 0..<layers {
            let kind = try r.int(UInt8.self)
            switch (kind, fresh.layers[i]) {
            case (0, .attention(var kv)):
                let type = try r.string(), heads = Int(try r.int(UInt32.self)), dim = Int(try r.int(UInt32.self))
                let rows = try r.int(Int64.self)
                guard type == kv.type.rawValue, heads == kv.kvHeads, dim == kv.headDim, kv.count == 0 else {
                    throw SequenceStateFileError.geometry(url.path, "layer \(i): \(heads)×\(dim) \(type) KV in the file, "
                                                          + "the model has \(kv.kvHeads)×\(kv.headDim) \(kv.type)")
                }
                guard rows == position else {   // every attention layer holds one row per position
                    throw SequenceStateFileError.corrupt(url.path, "layer \(i) holds \(rows) KV rows at position \(position)")
                }
                // Key rows then value rows: read a page's worth of each, seeking between the two sections.
                let pt = kv.pool.pageTokens, rowBytes = kv.pool.rowBytes
                var keys = [UInt8](repeating: 0, count: pt * rowBytes), values = keys   // [pageTokens · rowBytes] bytes each
                let keyStart = ftello(f), valueStart = keyStart + off_t(position) * off_t(rowBytes)
                var done = 0
                while done < Int(rows) {
                    let n = min(pt, Int(rows) - done)
                    try r.seek(keyStart + off_t(done * rowBytes))
                    try r.fill(&keys, n * rowBytes)
                    try r.seek(valueStart + off_t(done * rowBytes))
                    try r.fill(&values, n * rowBytes)
                    kv.appendStored(keys: keys, values: values, tokens: n)
                    done += n
                }
                try r.seek(valueStart + off_t(position) * off_t(rowBytes))
                state.layers[i] = .attention(kv)
            case (1, .recurrent(var rec)):
                let conv = Int(try r.int(Int64.self)), ssm = Int(try r.int(Int64.self))
                guard conv == rec.conv.count, ssm == rec.ssm.count else {
                    throw SequenceStateFileError.geometry(url.path, "layer \(i): recurrent state of \(conv) + \(ssm) floats in the file, the model has \(rec.conv.count) + \(rec.ssm.count)")
                }
                try rec.conv.withUnsafeMutableBytes { if let p = $0.baseAddress { try r.fillRaw(p, $0.count) } }
                try rec.ssm.withUnsafeMutableBytes { if let p = $0.baseAddress { try r.fillRaw(p, $0.count) } }
                state.layers[i] = .recurrent(rec)
            default:
                throw SequenceStateFileError.geometry(url.path, "layer \(i) is of kind \(kind) in the file, another kind in the model")
            }
        }
        guard try r.bytes(end.count) == end else { throw SequenceStateFileError.corrupt(url.path, "no end marker after the last layer") }
        return (state, info)
    }

    struct Writer {
        let file: UnsafeMutablePointer<FILE>, path: String
        func raw(_ p: UnsafeRawPointer, _ n: Int) throws {
            guard n == 0 || fwrite(p, 1, n, file) == n else { throw SequenceStateFileError.io(path, String(cString: strerror(errno))) }
        }
        func bytes(_ b: [UInt8]) throws { try b.withUnsafeBytes { try raw($0.baseAddress!, $0.count) } }
        func int<T: FixedWidthInteger>(_ v: T) throws { try withUnsafeBytes(of: v.littleEndian) { try raw($0.baseAddress!, $0.count) } }
        func string(_ s: String) throws {
            let b = Array(s.utf8)
            try int(UInt32(b.count))
            try bytes(b)
        }
    }

    struct Reader {
        let file: UnsafeMutablePointer<FILE>, path: String
        func fillRaw(_ p: UnsafeMutableRawPointer, _ n: Int) throws {
            guard n == 0 || fread(p, 1, n, file) == n else { throw SequenceStateFileError.truncated(path) }
        }
        func seek(_ offset: off_t) throws {
            guard fseeko(file, offset, SEEK_SET) == 0 else { throw SequenceStateFileError.truncated(path) }
        }
        func fill(_ b: inout [UInt8], _ n: Int) throws { try b.withUnsafeMutableBytes { try fillRaw($0.baseAddress!, n) } }
        func bytes(_ n: Int) throws -> [UInt8] {
            var b = [UInt8](repeating: 0, count: n)
            try fill(&b, n)
            return b
        }
        func int<T: FixedWidthInteger>(_: T.Type) throws -> T {
            var v = T.zero
            try withUnsafeMutableBytes(of: &v) { try fillRaw($0.baseAddress!, $0.count) }
            return T(littleEndian: v)
        }
        func string() throws -> String {
            let n = Int(try int(UInt32.self))
            guard n <= 1 << 20 else { throw SequenceStateFileError.notAStateFile(path) }   // not a length we wrote
            return String(decoding: try bytes(n), as: UTF8.self)
        }
    }
}

public enum SequenceStateFileError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(String, String)
    case io(String, String)
    case notAStateFile(String)
    case truncated(String)
    case corrupt(String, String)
    case tagMismatch(String, found: String, expected: String)
    case geometry(String, String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let why): "state file \(p): cannot open (\(why))"
        case .io(let p, let why): "state file \(p): \(why)"
        case .notAStateFile(let p): "state file \(p): not a QwenKit sequence state"
        case .truncated(let p): "state file \(p): truncated"
        case .corrupt(let p, let what): "state file \(p) is corrupt: \(what)"
        case .tagMismatch(let p, let found, let expected): "state file \(p) is for '\(found)', not '\(expected)'"
        case .geometry(let p, let what): "state file \(p) does not fit this model: \(what)"
        }
    }
}
