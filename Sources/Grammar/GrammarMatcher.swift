/// One sequence's position in a grammar: the allowed next tokens, advancing on the chosen one, rollback, and
/// whether the grammar is complete. A value type; copy it to fork a sequence.
public struct GrammarMatcher: Sendable {
    public let compiled: CompiledGrammar
    private var dfa: LazyDFA
    /// State after each accepted token; the last is the current one.
    private var history: [Int32]
    /// Masks of states seen before (a free-text string revisits one state token after token).
    private var cache: [Int32: TokenMask] = [:]

    /// How many tokens `rollback` can undo.
    public static let maxRollback = 16

    init(_ compiled: CompiledGrammar) {
        self.compiled = compiled
        dfa = LazyDFA(grammar: compiled.grammar)
        let start = dfa.pool.push(compiled.grammar.rootStart, on: StackPool.root)
        history = [dfa.id(compiled.grammar.close([start], &dfa.pool))]
    }

    private var stateID: Int32 { history[history.count - 1] }
    private var state: StackSet { dfa.sets[Int(stateID)] }

    /// The grammar can end here (end-of-turn may be allowed).
    public var isComplete: Bool { state.complete }
    /// Some token can still be read (false: only end-of-turn is left).
    public var canContinue: Bool { !state.stacks.isEmpty }

    /// Reads `id`'s bytes; false (and no change) when the grammar does not allow it.
    @discardableResult
    public mutating func accept(token id: Int) -> Bool {
        guard id >= 0, id < compiled.vocabulary.size, !compiled.vocabulary.tokens[id].isEmpty else { return false }
        return accept(bytes: compiled.vocabulary.tokens[id])
    }

    /// Reads `bytes` as one step (one rollback unit); false (and no change) when not allowed.
    @discardableResult
    public mutating func accept(bytes: [UInt8]) -> Bool {
        var s = stateID
        for (i, b) in bytes.enumerated() {
            s = dfa.step(s, b)
            let set = dfa.sets[Int(s)]
            if set.stacks.isEmpty && !(i == bytes.count - 1 && set.complete) { return false }
        }
        history.append(s)
        if history.count > Self.maxRollback + 1 { history.removeFirst() }
        return true
    }

    /// Undoes the last `count` accepted tokens.
    public mutating func rollback(_ count: Int) {
        precondition(count >= 0 && count < history.count, "rollback(\(count)) beyond the \(history.count - 1) kept steps")
        history.removeLast(count)
    }

    /// The tokens the grammar allows next (end-of-turn is not a vocabulary token here; see `isComplete`).
    public mutating func allowedTokens() -> TokenMask {
        let key = stateID
        if let hit = cache[key] { return hit }
        var mask = TokenMask(count: compiled.vocabulary.size)
        for h in state.stacks {
            let table = compiled.tables[Int(dfa.pool.node[Int(h)])]
            table.accepted.add(to: &mask)
            // Exits go on in the caller; below the root rule nothing may follow.
            let parent = dfa.pool.parent[Int(h)]
            if !table.exits.isEmpty && parent != StackPool.root {
                table.exits.check(from: dfa.resume(parent), dfa: &dfa, into: &mask)
            }
        }
        if cache.count >= 256 { cache.removeAll(keepingCapacity: true) }
        cache[key] = mask
        return mask
    }

    /// The plain twin of `allowedTokens`: every token's bytes run against the whole state through the pushdown
    /// automaton itself (no tables, no DFA, no cache).
    public mutating func referenceAllowedTokens() -> TokenMask {
        var mask = TokenMask(count: compiled.vocabulary.size)
        let s = state
        for (id, bytes) in compiled.vocabulary.tokens.enumerated() where !bytes.isEmpty {
            if compiled.grammar.accepts(s, bytes, &dfa.pool) { mask[id] = true }
        }
        return mask
    }
}
