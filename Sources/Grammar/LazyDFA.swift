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
    /// `live[state * 4 + byte / 64]`: the bytes some stack of the state has an edge for. A dead byte leads to
    /// the empty state without computing `advance` (first visits test many bytes that die at once).
    private var live: [UInt64] = []
    /// The state that continues a caller's stack after its callee ends (`resume`).
    private var resumed: [Int32: Int32] = [:]
    private static let unknown: Int32 = -1
    /// The state with no stacks (id 0, made first).
    static let dead: Int32 = 0

    /// Most states before `reset` is advised (each costs 1 KB of move table).
    static let capacity = 100_000

    init(grammar: Grammar) {
        self.grammar = grammar
        _ = id(StackSet(stacks: [], complete: false, hitProbe: false))
    }

    var count: Int { sets.count }

    mutating func id(_ set: StackSet) -> Int32 {
        if let i = index[set] { return i }
        sets.append(set)
        moves.append(contentsOf: repeatElement(Self.unknown, count: 256))
        var bits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for h in set.stacks {
            for e in grammar.nodes[Int(pool.node[Int(h)])].edges {
                for b in Int(e.lo)...Int(e.hi) {
                    switch b >> 6 {
                    case 0: bits.0 |= 1 << UInt64(b & 63)
                    case 1: bits.1 |= 1 << UInt64(b & 63)
                    case 2: bits.2 |= 1 << UInt64(b & 63)
                    default: bits.3 |= 1 << UInt64(b & 63)
                    }
                }
            }
        }
        live.append(contentsOf: [bits.0, bits.1, bits.2, bits.3])
        let i = Int32(sets.count - 1)
        index[set] = i
        return i
    }

    /// Whether some stack of `state` can read `byte`.
    func isLive(_ state: Int32, _ byte: UInt8) -> Bool {
        live[Int(state) << 2 | Int(byte >> 6)] & (1 << UInt64(byte & 63)) != 0
    }

    /// The state after `byte`.
    mutating func step(_ state: Int32, _ byte: UInt8) -> Int32 {
        let slot = Int(state) << 8 | Int(byte)
        let known = moves[slot]
        if known != Self.unknown { return known }
        let next = isLive(state, byte) ? id(grammar.advance(sets[Int(state)], byte, &pool)) : Self.dead
        moves[slot] = next
        return next
    }

    /// The state for a single stack `h` (a member of some state), for checking one token against it.
    mutating func single(_ h: Int32) -> Int32 { id(StackSet(stacks: [h], complete: false, hitProbe: false)) }

    /// The state that reads on from `parent` once a callee's frame is popped: the caller's return node and
    /// everything its closure reaches (further pops included). `parent` is a stack of this pool, not the root.
    mutating func resume(_ parent: Int32) -> Int32 {
        if let s = resumed[parent] { return s }
        let s = id(grammar.close([parent], &pool))
        resumed[parent] = s
        return s
    }

    /// Whether `bytes` can be read from `state` (the grammar may end exactly at the last byte).
    mutating func accepts<C: Collection>(_ state: Int32, _ bytes: C) -> Bool where C.Element == UInt8 {
        var s = state
        var left = bytes.count
        for b in bytes {
            s = step(s, b)
            left -= 1
            if sets[Int(s)].stacks.isEmpty { return left == 0 && sets[Int(s)].complete }
        }
        return !sets[Int(s)].stacks.isEmpty || sets[Int(s)].complete
    }
}
