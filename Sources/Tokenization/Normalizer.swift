import Foundation

/// The `normalizer` of `tokenizer.json`. Qwen uses NFC; the other Unicode normal forms and sequences of them load too.
enum Normalizer: Sendable {
    case none, nfc, nfd, nfkc, nfkd
    indirect case sequence([Normalizer])

    func apply(_ s: String) -> String {
        switch self {
        case .none: return s
        case .nfc:
            // Quick check: below U+0300 every scalar is NFC-stable, so ASCII/Latin-1 text skips the work.
            if s.unicodeScalars.allSatisfy({ $0.value < 0x300 }) { return s }
            return s.precomposedStringWithCanonicalMapping
        case .nfd: return s.decomposedStringWithCanonicalMapping
        case .nfkc: return s.precomposedStringWithCompatibilityMapping
        case .nfkd: return s.decomposedStringWithCompatibilityMapping
        case .sequence(let parts): return parts.reduce(s) { $1.apply($0) }
        }
    }
}
