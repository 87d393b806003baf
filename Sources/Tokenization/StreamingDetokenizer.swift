/// Turns ids into text one at a time, emitting only complete UTF-8 characters: the concatenation of everything it
/// returns equals `decode(all ids)`, also when a character's bytes are spread over several tokens.
public struct StreamingDetokenizer: Sendable {
    public let tokenizer: Tokenizer
    public let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Newly completed text after `id` (empty while a character is incomplete).
    public mutating func append(_ id: Int) -> String {
        tokenizer.appendBytes(id, skipSpecialTokens: skipSpecialTokens, to: &pending)
        let keep = Self.incompleteTail(pending)
        guard keep < pending.count else { return "" }
        let text = String(decoding: pending[..<(pending.count - keep)], as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// Whatever is left (an incomplete character at the very end becomes U+FFFD, as `decode` does).
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of a trailing sequence that is a valid but unfinished UTF-8 character (0 when none). Only such a tail
    /// is held back; bytes that can never become valid are emitted now as U+FFFD, exactly as a whole decode would.
    static func incompleteTail(_ b: [UInt8]) -> Int {
        let n = b.count
        for k in 1...3 where k <= n {
            let lead = b[n - k]
            if lead & 0xC0 == 0x80 { continue }          // continuation: look further back
            let need: Int
            switch lead {
            case 0xC2...0xDF: need = 2
            case 0xE0...0xEF: need = 3
            case 0xF0...0xF4: need = 4
            default: return 0
            }
            guard k < need else { return 0 }
            // The second byte's allowed range depends on the lead (no overlongs, surrogates or > U+10FFFF).
            if k >= 2 {
                let second = b[n - k + 1]
                let ok: Bool
                switch lead {
                case 0xE0: ok = (0xA0...0xBF).contains(second)
                case 0xED: ok = (0x80...0x9F).contains(second)
                case 0xF0: ok = (0x90...0xBF).contains(second)
                case 0xF4: ok = (0x80...0x8F).contains(second)
                default: ok = true
                }
                if !ok { return 0 }
            }
            return k
        }
        return 0
    }
}
