/// Integers within bounds as a digit grammar (the classic numeric-range regex construction): the range is
/// split by digit count, then each same-length range by its first differing digit.
enum IntegerRange {
    /// `-?digits` for integers in `lo...hi` (nil: unbounded on that side), canonical (no leading zeros, no `-0`).
    static func expr(min lo: Int?, max hi: Int?) throws -> Expr {
        if let lo, let hi, lo > hi { throw GrammarError("minimum \(lo) is greater than maximum \(hi)") }
        var options: [Expr] = []
        // Negative part: -(magnitudes in max(1, -hi) ... -lo).
        if lo.map({ $0 < 0 }) ?? true {
            let magLo = hi.map { $0 < 0 ? -$0 : 1 } ?? 1
            options.append(.seq([.lit("-"), nonNegative(magLo, lo.map { -$0 })]))
        }
        if hi.map({ $0 >= 0 }) ?? true {
            options.append(nonNegative(Swift.max(lo ?? 0, 0), hi))
        }
        return options.count == 1 ? options[0] : .alt(options)
    }

    /// Non-negative integers in `lo...hi` (nil: unbounded).
    static func nonNegative(_ lo: Int, _ hi: Int?) -> Expr {
        let loDigits = String(lo).count
        guard let hi else {
            // Every longer length is free: [1-9][0-9]{len-1,15}.
            let longer = Expr.seq([JSONPieces.nonZeroDigit, .rep(JSONPieces.digit, min: loDigits, max: Swift.max(loDigits, 15))])
            return .alt([sameLength(String(lo), String(repeating: "9", count: loDigits)), longer])
        }
        let hiDigits = String(hi).count
        var options: [Expr] = []
        for len in loDigits...hiDigits {
            let from = len == loDigits ? String(lo) : "1" + String(repeating: "0", count: len - 1)
            let to = len == hiDigits ? String(hi) : String(repeating: "9", count: len)
            options.append(sameLength(from, to))
        }
        return options.count == 1 ? options[0] : .alt(options)
    }

    /// Decimal strings of one length between `lo` and `hi` (inclusive, `lo <= hi`).
    static func sameLength(_ lo: String, _ hi: String) -> Expr {
        let a = Array(lo.utf8), b = Array(hi.utf8)
        return same(a[...], b[...])
    }

    private static func same(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Expr {
        guard let x = a.first, let y = b.first else { return .empty }
        let restA = a.dropFirst(), restB = b.dropFirst()
        if x == y { return .seq([.bytes([x]), same(restA, restB)]) }
        let n = restA.count
        let nines = ArraySlice([UInt8](repeating: 0x39, count: n)), zeros = ArraySlice([UInt8](repeating: 0x30, count: n))
        var options: [Expr] = [.seq([.bytes([x]), same(restA, nines)])]
        if y - x > 1 { options.append(.seq([.byteClass([(x + 1)...(y - 1)]), .rep(JSONPieces.digit, min: n, max: n)])) }
        options.append(.seq([.bytes([y]), same(zeros, restB)]))
        return .alt(options)
    }
}
