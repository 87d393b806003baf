/// The pushdown automaton determinised on demand: each distinct closed stack set gets an id the first time it is
/// reached, and each (state, byte) move is computed once and then read from a table. The mask precompute walks
/// millions of trie edges that revisit a handful of states (inside a string, every byte leads back to the
/// same loop), so this turns a hash-heavy `advance` into one array read.
struct LazyDFA {
    let grammar: Grammar
    var pool = StackPool()
    private(set) var sets: [StackSet] = []
    private var index: [StackSet: Int32] = [:]
    /// `moves[state * 256 + byte]`: next state, or `unknown`.
    private var moves: [Int32] = []
    private static let unknown: Int32 = -1

    /// Most states before `reset` is advised (each costs 1 KB of move table).
    static let capacity = 100_000

    init(grammar: Grammar) { self.grammar = grammar }

    var count: Int { sets.count }

    mutating func id(_ set: StackSet) -> Int32 {
        if let i = index[set] { return i }
        sets.append(set)
        moves.append(contentsOf: repeatElement(Self.unknown, count: 256))
        let i = Int32(sets.count - 1)
        index[set] = i
        return i
    }

    /// The state after `byte`.
    mutating func step(_ state: Int32, _ byte: UInt8) -> Int32 {
        let slot = Int(state) << 8 | Int(byte)
        let known = moves[slot]
        if known != Self.unknown { return known }
        let next = id(grammar.advance(sets[Int(state)], byte, &pool))
        moves[slot] = next
        return next
    }

    /// The state for a single stack `h` (a member of some state), for checking one token against it.
    mutating func single(_ h: Int32) -> Int32 { id(StackSet(stacks: [h], complete: false, hitProbe: false)) }

    /// Whether `bytes` can be read from `state` (the grammar may end exactly at the last byte).
    mutating func accepts(_ state: Int32, _ bytes: [UInt8]) -> Bool {
        var s = state
        for (i, b) in bytes.enumerated() {
            s = step(s, b)
            if sets[Int(s)].stacks.isEmpty { return i == bytes.count - 1 && sets[Int(s)].complete }
        }
        return !sets[Int(s)].stacks.isEmpty || sets[Int(s)].complete
    }
}
