/// The tokens that leave a node's rule with bytes still to read, for the run-time part of the mask.
///
/// When a grammar is compiled, each waiting node's vocabulary walk (`CompiledGrammar.table`) finds the tokens
/// whose bytes pop out of the node's rule before they end: `abc",` in a string pops after `abc"`, and whether
/// `,` may follow depends on who called the string. The part read inside the rule is the same in every context,
/// so only the rest — the *suffix* after the pop — is stored, and tokens with equal suffixes share one check:
/// at run time each distinct suffix is read once from the caller's continuation (`LazyDFA.resume`). Before,
/// every such token was re-read from its first byte through a matcher-local DFA that was still cold on the
/// first visit of the state: the 446 µs p95 of issue 10.
struct ExitTable: Sendable, Equatable {
    /// Distinct suffixes, sorted: `bytes[start[i] ..< start[i + 1]]`.
    private(set) var bytes: [UInt8] = []
    private(set) var start: [Int32] = [0]
    /// Tokens with suffix i: `tokens[tokenStart[i] ..< tokenStart[i + 1]]`.
    private(set) var tokens: [Int32] = []
    private(set) var tokenStart: [Int32] = [0]

    static let empty = ExitTable()

    var isEmpty: Bool { tokens.isEmpty }
    var suffixCount: Int { start.count - 1 }

    private init() {}

    /// `entries`: a token and the byte offset where it pops out of the rule (a token may pop at several
    /// offsets, one entry each; the offset is below the token's length).
    init(entries: [(token: Int32, offset: Int32)], vocabulary v: Vocabulary) {
        func suffix(_ e: (token: Int32, offset: Int32)) -> ArraySlice<UInt8> { v.tokens[Int(e.token)][Int(e.offset)...] }
        let sorted = entries.sorted { a, b in
            let sa = suffix(a), sb = suffix(b)
            return sa == sb ? a.token < b.token : sa.lexicographicallyPrecedes(sb)
        }
        var previous: ArraySlice<UInt8>?
        for e in sorted {
            let s = suffix(e)
            if s != previous {
                if previous != nil { tokenStart.append(Int32(tokens.count)) }
                bytes.append(contentsOf: s)
                start.append(Int32(bytes.count))
                previous = s
            }
            if tokens.count == Int(tokenStart[tokenStart.count - 1]) || tokens.last != e.token { tokens.append(e.token) }
        }
        if previous != nil { tokenStart.append(Int32(tokens.count)) }
    }

    /// Adds to `mask` every token whose suffix can be read from `state` (the caller's continuation).
    func check(from state: Int32, dfa: inout LazyDFA, into mask: inout TokenMask) {
        for i in 0..<suffixCount {
            let lo = Int(start[i]), hi = Int(start[i + 1])
            // Most suffixes die on their first byte (after a string only `,` or `}` may come): one bit test.
            guard dfa.isLive(state, bytes[lo]) else { continue }
            if dfa.accepts(state, bytes[lo..<hi]) {
                mask.insert(tokens[Int(tokenStart[i]) ..< Int(tokenStart[i + 1])])
            }
        }
    }
}
