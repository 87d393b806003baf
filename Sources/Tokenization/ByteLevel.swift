/// GPT-2's byte ↔ unicode map used by the `ByteLevel` pre-tokenizer and decoder: printable bytes
/// (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for themselves, the other 68 bytes map to U+0100 onwards in order.
enum ByteLevel {
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The byte-level string of raw bytes (how vocab and merges spell tokens).
    static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteToScalar[Int(b)]) }
        return String(s)
    }

    /// Bytes of a token string. As HF's ByteLevel decoder: if any character is outside the map, the token's own
    /// UTF-8 bytes are used (added tokens such as `<|im_start|>` are plain text).
    static func decode(_ token: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return Array(token.utf8) }
            out.append(b)
        }
        return out
    }
}
