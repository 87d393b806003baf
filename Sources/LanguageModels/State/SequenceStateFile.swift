import Foundation
import TensorCore

/// A sequence's whole state on disk and back (llama.cpp's `llama_state_seq_save_file`): the position, every
/// attention layer's KV rows in the pool's stored type (copied byte for byte, so a restore is exact for every
/// `KVType`), every Gated DeltaNet layer's conv and delta state as f32. A long prefill can stop and resume from
/// it. `tag` says what the state belongs to (model, prompt) and must match on read; `info` is free text kept
/// beside it (e.g. the compute seconds spent so far).
///
/// Layout, little-endian: "QKSTATE1", tag, info (u32 length + UTF-8 each), position i64, layer count u32, per
/// layer: kind u8 (0 attention, 1 recurrent); attention: KV type name, heads u32, head_dim u32, rows i64, then
/// per page its key rows and its value rows; recurrent: conv count i64, delta count i64, the floats; "QKEND".
public enum SequenceStateFile {
    static let magic = Array("QKSTATE1".utf8), end = Array("QKEND".utf8)

    /// Writes `state` to `url` through a temporary file renamed into place, so an interrupted write leaves the
    /// previous file intact.
    public static func write(_ state: SequenceState, tag: String, info: String, to url: URL) throws {
        let tmp = url.path + ".tmp"
        guard let f = fopen(tmp, "wb") else { throw SequenceStateFileError.cannotOpen(tmp, String(cString: strerror(errno))) }
        let w = Writer(file: f, path: tmp)
        defer { fclose(f) }
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
                try kv.storedRuns { keys, values, rows in
                    try w.raw(keys, rows * rowBytes)
                    try w.raw(values, rows * rowBytes)
                }
            case .recurrent(let r):
                try w.int(UInt8(1))
                try w.int(Int64(r.conv.count))
                try w.int(Int64(r.ssm.count))
                try r.conv.withUnsafeBytes { try w.raw($0.baseAddress!, $0.count) }
                try r.ssm.withUnsafeBytes { try w.raw($0.baseAddress!, $0.count) }
            }
        }
        try w.bytes(end)
        guard fflush(f) == 0 else { throw SequenceStateFileError.io(tmp, String(cString: strerror(errno))) }
        guard rename(tmp, url.path) == 0 else { throw SequenceStateFileError.io(url.path, String(cString: strerror(errno))) }
    }

    /// The `info` of the state in `url` and the state itself, read into `fresh` (a new state of the same model,
    /// whose geometry every layer must match). Throws naming the problem: another tag, another model's layers,
    /// a truncated or foreign file.
    public static func read(from url: URL, tag: String, into fresh: SequenceState) throws -> (state: SequenceState, info: String) {
        guard let f = fopen(url.path, "rb") else { throw SequenceStateFileError.cannotOpen(url.path, String(cString: strerror(errno))) }
        defer { fclose(f) }
        let r = Reader(file: f, path: url.path)
        guard try r.bytes(magic.count) == magic else { throw SequenceStateFileError.notAStateFile(url.path) }
        let found = try r.string()
        guard found == tag else { throw SequenceStateFileError.tagMismatch(url.path, found: found, expected: tag) }
        let info = try r.string()
        var state = fresh
        state.position = Int(try r.int(Int64.self))
        let layers = Int(try r.int(UInt32.self))
        guard layers == fresh.layers.count else {
            throw SequenceStateFileError.geometry(url.path, "\(layers) layers in the file, the model has \(fresh.layers.count)")
        }
        for i in 0..<layers {
            let kind = try r.int(UInt8.self)
            switch (kind, fresh.layers[i]) {
            case (0, .attention(var kv)):
                let type = try r.string(), heads = Int(try r.int(UInt32.self)), dim = Int(try r.int(UInt32.self))
                let rows = Int(try r.int(Int64.self))
                guard type == kv.type.rawValue, heads == kv.kvHeads, dim == kv.headDim, kv.count == 0,
                      rows >= 0, rows <= state.position else {
                    throw SequenceStateFileError.geometry(url.path, "layer \(i): \(rows) rows of \(heads)×\(dim) \(type) KV in the file, the model has \(kv.kvHeads)×\(kv.headDim) \(kv.type)")
                }
                let pt = kv.pool.pageTokens, rowBytes = kv.pool.rowBytes
                var keys = [UInt8](repeating: 0, count: pt * rowBytes), values = keys
                var done = 0
                while done < rows {
                    let n = min(pt, rows - done)
                    try r.fill(&keys, n * rowBytes)
                    try r.fill(&values, n * rowBytes)
                    kv.appendStored(keys: keys, values: values, tokens: n)
                    done += n
                }
                state.layers[i] = .attention(kv)
            case (1, .recurrent(var rec)):
                let conv = Int(try r.int(Int64.self)), ssm = Int(try r.int(Int64.self))
                guard conv == rec.conv.count, ssm == rec.ssm.count else {
                    throw SequenceStateFileError.geometry(url.path, "layer \(i): recurrent state of \(conv) + \(ssm) floats in the file, the model has \(rec.conv.count) + \(rec.ssm.count)")
                }
                try rec.conv.withUnsafeMutableBytes { try r.fillRaw($0.baseAddress!, $0.count) }
                try rec.ssm.withUnsafeMutableBytes { try r.fillRaw($0.baseAddress!, $0.count) }
                state.layers[i] = .recurrent(rec)
            default:
                throw SequenceStateFileError.geometry(url.path, "layer \(i) is of kind \(kind) in the file, another kind in the model")
            }
        }
        guard try r.bytes(end.count) == end else { throw SequenceStateFileError.truncated(url.path) }
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
    case tagMismatch(String, found: String, expected: String)
    case geometry(String, String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let why): "state file \(p): cannot open (\(why))"
        case .io(let p, let why): "state file \(p): write failed (\(why))"
        case .notAStateFile(let p): "state file \(p): not a QwenKit sequence state"
        case .truncated(let p): "state file \(p): truncated"
        case .tagMismatch(let p, let found, let expected): "state file \(p) is for '\(found)', not '\(expected)'"
        case .geometry(let p, let what): "state file \(p) does not fit this model: \(what)"
        }
    }
}
