/// Character classes the pre-tokenizer regexes use, per Unicode scalar: `\p{L}`, `\p{M}`, `\p{N}`, `\s`.
///
/// `\s` is Unicode White_Space (what Oniguruma, used by HF `tokenizers`, matches for UTF-8 text), and the general
/// categories come from Swift's Unicode tables. A 64K table covers the BMP so the scanner's hot loop is one load;
/// scalars above it ask the stdlib.
struct UnicodeClasses: Sendable {
    static let letter: UInt8 = 1, mark: UInt8 = 2, number: UInt8 = 4, space: UInt8 = 8, newline: UInt8 = 16

    private let bmp: [UInt8]

    init() {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for v in 0..<0x10000 {
            if let s = Unicode.Scalar(UInt32(v)) { table[v] = Self.compute(s) }
        }
        bmp = table
    }

    static let shared = UnicodeClasses()

    @inline(__always) func classes(_ s: Unicode.Scalar) -> UInt8 {
        s.value < 0x10000 ? bmp[Int(s.value)] : Self.compute(s)
    }

    static func compute(_ s: Unicode.Scalar) -> UInt8 {
        var c: UInt8 = 0
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: c |= letter
        case .nonspacingMark, .spacingMark, .enclosingMark: c |= mark
        case .decimalNumber, .letterNumber, .otherNumber: c |= number
        default: break
        }
        if s.properties.isWhitespace { c |= space }
        if s == "\r" || s == "\n" { c |= newline }
        return c
    }
}
