/// Finds stop strings in streamed text, also when one spans several deltas. Text that could still be the
/// start of a stop string is held back until it is decided; the stop string itself is never emitted.
public struct StopStringMatcher: Sendable {
    public let stops: [String]
    private var pending = ""

    public init(_ stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Feeds a delta; returns the text that is safe to emit and whether a stop string was hit (everything
    /// from the stop string on is dropped).
    public mutating func feed(_ delta: String) -> (emit: String, stopped: Bool) {
        guard !stops.isEmpty else { return (delta, false) }
        pending += delta
        // Earliest complete stop string wins.
        var cut: String.Index?
        for s in stops {
            if let r = pending.range(of: s), cut == nil || r.lowerBound < cut! { cut = r.lowerBound }
        }
        if let cut {
            let out = String(pending[..<cut])
            pending = ""
            return (out, true)
        }
        // Hold back the longest suffix that is a proper prefix of some stop string.
        var hold = 0
        for s in stops {
            var n = min(s.count - 1, pending.count)
            while n > hold {
                if pending.hasSuffix(s.prefix(n)) { hold = n; break }
                n -= 1
            }
        }
        let splitAt = pending.index(pending.endIndex, offsetBy: -hold)
        let out = String(pending[..<splitAt])
        pending = String(pending[splitAt...])
        return (out, false)
    }

    /// At the end of generation (no stop hit): whatever was held back.
    public mutating func finish() -> String {
        defer { pending = "" }
        return pending
    }
}
