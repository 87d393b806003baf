/// Splits normalised text into the pieces BPE runs on, as the `Split` pre-tokenizer of `tokenizer.json` does
/// with the Qwen regex (behaviour `Isolated`: every match is a piece, and so is any gap between matches).
///
/// The regex, hand-compiled (alternatives tried in order at each position, as a backtracking engine does):
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)            1  contractions, case-insensitive
///     | [^\r\n\p{L}\p{N}]? [\p{L}\p{M}]+      2  a word with at most one leading non-letter
///     | \p{N}                                 3  one digit
///     | ' '? [^\s\p{L}\p{M}\p{N}]+ [\r\n]*    4  punctuation, with one leading space and trailing newlines
///     | \s* [\r\n]+                           5  whitespace up to and including the last newline
///     | \s+ (?!\S)                            6  whitespace not followed by a non-space
///     | \s+                                   7  the rest of a whitespace run
///
/// Qwen2/2.5/3 checkpoints use the same pattern without `\p{M}` (`\p{L}+` in 2, `[^\s\p{L}\p{N}]` in 4);
/// `wordIncludesMarks` switches between the two.
struct QwenSplitter: Sendable {
    static let qwen35Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    let wordIncludesMarks: Bool

    init?(pattern: String) {
        switch pattern {
        case Self.qwen35Pattern: wordIncludesMarks = true
        case Self.qwen2Pattern: wordIncludesMarks = false
        default: return nil
        }
    }

    /// Calls `piece(start, end)` with scalar index ranges covering `scalars` in order.
    func split(_ scalars: UnsafeBufferPointer<Unicode.Scalar>, _ piece: (Int, Int) -> Void) {
        let uc = UnicodeClasses.shared
        let n = scalars.count
        let L = UnicodeClasses.letter, M = UnicodeClasses.mark, N = UnicodeClasses.number
        let S = UnicodeClasses.space, NL = UnicodeClasses.newline
        let wordClass: UInt8 = wordIncludesMarks ? (L | M) : L
        let punctExcluded: UInt8 = wordIncludesMarks ? (S | L | M | N) : (S | L | N)
        @inline(__always) func cls(_ i: Int) -> UInt8 { uc.classes(scalars[i]) }
        var p = 0
        while p < n {
            let c = cls(p)
            // 1: contractions.
            if scalars[p] == "'", p + 1 < n {
                let a = lowered(scalars[p + 1])
                let b: Unicode.Scalar? = p + 2 < n ? lowered(scalars[p + 2]) : nil
                var len = 0
                if a == "s" || a == "t" || a == "m" || a == "d" { len = 2 }
                else if (a == "r" || a == "v") && b == "e" { len = 3 }
                else if a == "l" && b == "l" { len = 3 }
                if len > 0 { piece(p, p + len); p += len; continue }
            }
            // 2: optional one leading char that is not CR/LF/letter/number, then letters (and marks).
            if c & (NL | L | N) == 0, p + 1 < n, cls(p + 1) & wordClass != 0 {
                var e = p + 2
                while e < n, cls(e) & wordClass != 0 { e += 1 }
                piece(p, e); p = e; continue
            }
            if c & wordClass != 0 {
                var e = p + 1
                while e < n, cls(e) & wordClass != 0 { e += 1 }
                piece(p, e); p = e; continue
            }
            // 3: one number.
            if c & N != 0 { piece(p, p + 1); p += 1; continue }
            // 4: punctuation run, optionally after one space, then newlines.
            var q = p
            if scalars[p] == " ", p + 1 < n, cls(p + 1) & punctExcluded == 0 { q = p + 1 }
            if cls(q) & punctExcluded == 0 {
                var e = q + 1
                while e < n, cls(e) & punctExcluded == 0 { e += 1 }
                while e < n, cls(e) & NL != 0 { e += 1 }
                piece(p, e); p = e; continue
            }
            // 5-7: whitespace. (Every scalar not matched above is whitespace.)
            var e = p
            var lastNewline = -1
            while e < n, cls(e) & S != 0 {
                if cls(e) & NL != 0 { lastNewline = e }
                e += 1
            }
            if lastNewline >= 0 { piece(p, lastNewline + 1); p = lastNewline + 1; continue }      // 5
            if e == n || e - p == 1 {                                                            // 6 at the end, else 7
                piece(p, e); p = e; continue
            }
            piece(p, e - 1); p = e - 1                                                            // 6: leave one space
        }
    }

    /// Simple case folding for the contraction letters (`(?i)` also matches U+017F LONG S as `s`).
    @inline(__always) private func lowered(_ s: Unicode.Scalar) -> Unicode.Scalar {
        switch s.value {
        case 0x41...0x5A: return Unicode.Scalar(s.value + 0x20)!
        case 0x17F: return "s"
        default: return s
        }
    }
}
