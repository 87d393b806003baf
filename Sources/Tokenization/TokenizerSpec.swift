import JSON

/// The parts of `tokenizer.json` QwenKit runs, checked: anything else is an error naming the component.
struct TokenizerSpec {
    var vocab: [String: Int32] = [:]
    var normalizer = Normalizer.none
    var splitter: QwenSplitter?
    var bpe: BPEModel
    var added: [AddedToken] = []

    /// No id at or past this (2^22, above any released vocabulary: Qwen3.5 has 248,320) is accepted.
    static let maxTokenID = 1 << 22

    init(root: JSONValue, path: String) throws {
        func malformed(_ r: String) -> TokenizerError { .malformed(path: path, reason: r) }
        func unsupported(_ c: String) -> TokenizerError { .unsupported(path: path, component: c) }
        guard case .object = root else { throw malformed("top level is \(root.typeName), expected an object") }

        // model: BPE
        guard let model = root["model"] else { throw malformed("missing \"model\"") }
        let type = model["type"]?.stringValue ?? "BPE"
        guard type == "BPE" else { throw unsupported("model type \"\(type)\" (only BPE)") }
        if let d = model["dropout"], !d.isNull { throw unsupported("BPE dropout") }
        if model["byte_fallback"]?.boolValue == true { throw unsupported("BPE byte_fallback") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let s = model[key]?.stringValue, !s.isEmpty { throw unsupported("BPE \(key) \"\(s)\"") }
        }
        guard case .object(let entries)? = model["vocab"] else { throw malformed("model.vocab is missing or not an object") }
        // Token tables are indexed by id (the tokenizer allocates max id + 1 entries), so ids are checked
        // against the number of tokens before anything is built: one id near 2^31 once asked for 32 GB.
        let tokenCount = entries.count + (root["added_tokens"]?.arrayValue?.count ?? 0)
        let idLimit = min(Self.maxTokenID, 2 * tokenCount + 1024)
        func checkID(_ id: Int, _ what: String) throws {
            guard id < idLimit else {
                throw malformed("\(what) has id \(id), beyond the vocabulary (\(tokenCount) tokens; ids must be below \(idLimit))")
            }
        }
        vocab.reserveCapacity(entries.count)
        for (token, value) in entries {
            guard let id = value.intValue, id >= 0 else { throw malformed("model.vocab[\"\(token)\"] is not a token id") }
            try checkID(id, "model.vocab[\"\(token)\"]")
            vocab[token] = Int32(id)
        }
        var byteIDs = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            guard let id = vocab[String(Character(ByteLevel.byteToScalar[b]))] else {
                throw malformed("model.vocab has no entry for byte 0x\(String(b, radix: 16)) (ByteLevel BPE needs all 256)")
            }
            byteIDs[b] = id
        }
        guard let mergeList = model["merges"]?.arrayValue else { throw malformed("model.merges is missing or not an array") }
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(mergeList.count)
        for (rank, m) in mergeList.enumerated() {
            let pair: (String, String)
            if let s = m.stringValue {
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw malformed("merge \(rank) \"\(s)\" is not two tokens") }
                pair = (String(parts[0]), String(parts[1]))
            } else if let a = m.arrayValue, a.count == 2, let l = a[0].stringValue, let r = a[1].stringValue {
                pair = (l, r)
            } else { throw malformed("merge \(rank) is neither \"a b\" nor [a, b]") }
            guard let l = vocab[pair.0], let r = vocab[pair.1] else { throw malformed("merge \(rank) uses a token not in the vocab") }
            guard let merged = vocab[pair.0 + pair.1] else { throw malformed("merge \(rank) result \"\(pair.0 + pair.1)\" is not in the vocab") }
            let key = UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))
            if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged)) }
        }
        var whole: [[UInt8]: Int32]?
        if model["ignore_merges"]?.boolValue == true {
            whole = [:]
            for (s, id) in vocab { whole![ByteLevel.decode(s)] = id }
        }
        bpe = BPEModel(byteIDs: byteIDs, merges: merges, wholePieces: whole)

        // normalizer
        normalizer = try Self.normalizer(root["normalizer"], unsupported)

        // pre_tokenizer: [Split(Qwen regex, Isolated)] + ByteLevel without its own regex and prefix space.
        var pres: [JSONValue] = []
        if let p = root["pre_tokenizer"], !p.isNull {
            pres = p["type"]?.stringValue == "Sequence" ? (p["pretokenizers"]?.arrayValue ?? []) : [p]
        }
        var sawByteLevel = false
        for p in pres {
            switch p["type"]?.stringValue {
            case "Split":
                guard let pattern = p["pattern"]?["Regex"]?.stringValue else { throw unsupported("Split pre-tokenizer without a Regex pattern") }
                guard let s = QwenSplitter(pattern: pattern) else { throw unsupported("Split pre-tokenizer regex \(pattern)") }
                guard p["behavior"]?.stringValue == "Isolated", p["invert"]?.boolValue != true else {
                    throw unsupported("Split pre-tokenizer behavior \(p["behavior"]?.stringValue ?? "?") (only Isolated)")
                }
                guard splitter == nil, !sawByteLevel else { throw unsupported("pre-tokenizer sequence in this order") }
                splitter = s
            case "ByteLevel":
                if p["add_prefix_space"]?.boolValue == true { throw unsupported("ByteLevel add_prefix_space") }
                if p["use_regex"]?.boolValue ?? true { throw unsupported("ByteLevel pre-tokenizer with use_regex (GPT-2 regex)") }
                sawByteLevel = true
            default: throw unsupported("pre-tokenizer \(p["type"]?.stringValue ?? "without a type")")
            }
        }
        guard sawByteLevel else { throw unsupported("a pipeline without the ByteLevel pre-tokenizer") }
        if let d = root["decoder"], !d.isNull, d["type"]?.stringValue != "ByteLevel" {
            throw unsupported("decoder \(d["type"]?.stringValue ?? "?") (only ByteLevel)")
        }
        if let p = root["post_processor"], !p.isNull, p["type"]?.stringValue != "ByteLevel" {
            throw unsupported("post_processor \(p["type"]?.stringValue ?? "?") (only ByteLevel)")
        }

        // added_tokens
        for t in root["added_tokens"]?.arrayValue ?? [] {
            guard let id = t["id"]?.intValue, id >= 0, let content = t["content"]?.stringValue else {
                throw malformed("added token without a valid id and content (id \(t["id"].map { $0.serialized() } ?? "missing"))")
            }
            try checkID(id, "added token \(content)")
            for flag in ["lstrip", "rstrip", "single_word"] where t[flag]?.boolValue == true {
                throw unsupported("added token \(content) with \(flag)")
            }
            added.append(AddedToken(id: id, content: content, special: t["special"]?.boolValue ?? false,
                                    normalized: t["normalized"]?.boolValue ?? false))
        }
    }

    static func normalizer(_ n: JSONValue?, _ unsupported: (String) -> TokenizerError) throws -> Normalizer {
        guard let n, !n.isNull else { return .none }
        switch n["type"]?.stringValue {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Sequence": return .sequence(try (n["normalizers"]?.arrayValue ?? []).map { try normalizer($0, unsupported) })
        case let t: throw unsupported("normalizer \(t ?? "without a type")")
        }
    }
}
