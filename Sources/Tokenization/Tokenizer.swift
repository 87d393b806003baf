import Foundation
import JSON

/// A byte-level BPE tokenizer read from a model directory's `tokenizer.json` (+ `tokenizer_config.json`), exact
/// against HF `tokenizers`: added tokens matched first, then NFC, the Qwen split regex, ByteLevel and BPE by rank.
public final class Tokenizer: @unchecked Sendable {   // immutable after init; the piece cache locks itself
    /// Added tokens (`<|im_start|>`, `<think>`, …) in id order.
    public let addedTokens: [AddedToken]
    /// Largest id + 1 (BPE vocab and added tokens).
    public let vocabSize: Int
    public let eosToken: String?
    public let bosToken: String?
    public let padToken: String?

    let vocab: [String: Int32]
    let normalizer: Normalizer
    let splitter: QwenSplitter?
    let bpe: BPEModel
    /// Bytes of every id: `tokenBytes[tokenOffsets[id] ..< tokenOffsets[id + 1]]`.
    let tokenBytes: [UInt8]
    let tokenOffsets: [Int32]
    let specialIDs: Set<Int>
    let addedByID: [Int: AddedToken]
    let rawMatcher: AddedTokenMatcher              // every non-normalized added token
    let rawNonSpecialMatcher: AddedTokenMatcher    // the same without special ones (split_special_tokens)
    let normalizedMatcher: AddedTokenMatcher
    let normalizedNonSpecialMatcher: AddedTokenMatcher
    let cache = PieceCache()

    /// Loads `tokenizer.json` and, when present, `tokenizer_config.json` from `directory`.
    public static func load(directory: URL) throws -> Tokenizer {
        let file = directory.appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: file.path) else { throw TokenizerError.missingFile(file.path) }
        let data: Data
        do { data = try InputFile.read(file.path) } catch let e as InputFileError {
            throw TokenizerError.unreadable(path: file.path, reason: e.reason)
        }
        let configFile = directory.appendingPathComponent("tokenizer_config.json")
        let config = FileManager.default.fileExists(atPath: configFile.path) ? try? InputFile.read(configFile.path) : nil
        return try Tokenizer(tokenizerJSON: data, config: config, path: file.path)
    }

    public init(tokenizerJSON data: Data, config: Data? = nil, path: String = "tokenizer.json") throws {
        let root: JSONValue
        do { root = try JSONValue.parse(data) } catch { throw TokenizerError.malformed(path: path, reason: "\(error)") }
        let spec = try TokenizerSpec(root: root, path: path)
        vocab = spec.vocab
        normalizer = spec.normalizer
        splitter = spec.splitter
        bpe = spec.bpe
        addedTokens = spec.added.sorted { $0.id < $1.id }
        var byID: [Int: AddedToken] = [:]
        for t in addedTokens { byID[t.id] = t }
        addedByID = byID
        specialIDs = Set(addedTokens.filter(\.special).map(\.id))
        let raw = addedTokens.filter { !$0.normalized }, normalized = addedTokens.filter(\.normalized)
        rawMatcher = AddedTokenMatcher(raw)
        rawNonSpecialMatcher = AddedTokenMatcher(raw.filter { !$0.special })
        normalizedMatcher = AddedTokenMatcher(normalized)
        normalizedNonSpecialMatcher = AddedTokenMatcher(normalized.filter { !$0.special })

        // id → bytes, for decoding.
        let maxID = max(Int(spec.vocab.values.max() ?? -1), addedTokens.last?.id ?? -1)
        vocabSize = maxID + 1
        var strings = [String?](repeating: nil, count: vocabSize)
        for (s, id) in spec.vocab { strings[Int(id)] = s }
        var bytes: [UInt8] = [], offsets: [Int32] = [0]
        bytes.reserveCapacity(vocabSize * 7)
        offsets.reserveCapacity(vocabSize + 1)
        for id in 0..<vocabSize {
            if let t = byID[id] { bytes += ByteLevel.decode(t.content) } else if let s = strings[id] { bytes += ByteLevel.decode(s) }
            offsets.append(Int32(bytes.count))
        }
        tokenBytes = bytes
        tokenOffsets = offsets

        var eos: String?, bos: String?, pad: String?
        if let config, let c = try? JSONValue.parse(config) {
            func token(_ key: String) -> String? { c[key]?.stringValue ?? c[key]?["content"]?.stringValue }
            eos = token("eos_token"); bos = token("bos_token"); pad = token("pad_token")
        }
        eosToken = eos; bosToken = bos; padToken = pad
    }

    // MARK: Lookup

    /// The id of a vocab entry (byte-level spelling) or an added token.
    public func tokenID(_ token: String) -> Int? {
        if let t = addedTokens.first(where: { $0.content == token }) { return t.id }
        return vocab[token].map(Int.init)
    }

    /// The byte-level spelling of an id as `tokenizer.json` writes it (`Ġthe`), or the added token's content.
    public func token(for id: Int) -> String? {
        guard id >= 0, id < vocabSize else { return nil }
        if let t = addedByID[id] { return t.content }
        let b = tokenBytes[Int(tokenOffsets[id])..<Int(tokenOffsets[id + 1])]
        return b.isEmpty ? nil : ByteLevel.encode(b)
    }

    public func isSpecial(_ id: Int) -> Bool { specialIDs.contains(id) }

    // MARK: Encode

    /// Token ids of `text` (no BOS/EOS added; Qwen adds none). With `splitSpecialTokens`, added tokens marked
    /// `special` are encoded as plain text (transformers' `split_special_tokens=True`).
    public func encode(_ text: String, splitSpecialTokens: Bool = false) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.utf8.count / 3)
        var text = text
        text.withUTF8 { bytes in
            let matcher = splitSpecialTokens ? rawNonSpecialMatcher : rawMatcher
            matcher.split(bytes, text: { a, b in
                encodeSegment(String(decoding: UnsafeBufferPointer(rebasing: bytes[a..<b]), as: UTF8.self),
                              splitSpecialTokens: splitSpecialTokens, into: &out)
            }, token: { out.append($0) })
        }
        return out
    }

    private func encodeSegment(_ raw: String, splitSpecialTokens: Bool, into out: inout [Int]) {
        var norm = normalizer.apply(raw)
        let matcher = splitSpecialTokens ? normalizedNonSpecialMatcher : normalizedMatcher
        if matcher.isEmpty { pretokenize(norm, into: &out); return }
        norm.withUTF8 { bytes in
            matcher.split(bytes, text: { a, b in
                pretokenize(String(decoding: UnsafeBufferPointer(rebasing: bytes[a..<b]), as: UTF8.self), into: &out)
            }, token: { out.append($0) })
        }
    }

    private func pretokenize(_ text: String, into out: inout [Int]) {
        var text = text
        guard let splitter else {
            text.withUTF8 { piece($0, into: &out) }
            return
        }
        let scalars = Array(text.unicodeScalars)
        var offsets = [Int](repeating: 0, count: scalars.count + 1)       // scalar index → UTF-8 offset
        for (i, s) in scalars.enumerated() { offsets[i + 1] = offsets[i] + UTF8.width(s) }
        text.withUTF8 { bytes in
            scalars.withUnsafeBufferPointer { sc in
                splitter.split(sc) { a, b in
                    piece(UnsafeBufferPointer(rebasing: bytes[offsets[a]..<offsets[b]]), into: &out)
                }
            }
        }
    }

    private func piece(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int]) {
        if bytes.count == 1 { out.append(Int(bpe.byteIDs[Int(bytes[0])])); return }
        let cacheable = bytes.count <= 48
        let key = cacheable ? Array(bytes) : []
        if cacheable, let ids = cache.get(key) { out.append(contentsOf: ids); return }
        let start = out.count
        bpe.encode(bytes, into: &out)
        if cacheable { cache.put(key, Array(out[start...])) }
    }

    // MARK: Decode

    /// UTF-8 bytes of `ids` (unknown ids are skipped, as HF does).
    public func bytes(_ ids: [Int], skipSpecialTokens: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids { appendBytes(id, skipSpecialTokens: skipSpecialTokens, to: &out) }
        return out
    }

    func appendBytes(_ id: Int, skipSpecialTokens: Bool, to out: inout [UInt8]) {
        guard id >= 0, id < vocabSize else { return }
        if skipSpecialTokens, specialIDs.contains(id) { return }
        out.append(contentsOf: tokenBytes[Int(tokenOffsets[id])..<Int(tokenOffsets[id + 1])])
    }

    /// Text of `ids`; invalid UTF-8 becomes U+FFFD per maximal invalid subsequence (Rust's `from_utf8_lossy`).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        String(decoding: bytes(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }
}

/// Ids of recently seen pieces: natural text repeats its words, and BPE on a cached piece is one lookup.
final class PieceCache: @unchecked Sendable {
    private var map: [[UInt8]: [Int]] = [:]
    private let lock = NSLock()
    private let capacity = 1 << 16

    func get(_ key: [UInt8]) -> [Int]? {
        lock.lock(); defer { lock.unlock() }
        return map[key]
    }

    func put(_ key: [UInt8], _ ids: [Int]) {
        lock.lock(); defer { lock.unlock() }
        if map.count >= capacity { map.removeAll(keepingCapacity: true) }
        map[key] = ids
    }
}
