import Foundation

/// A grammar joined to a vocabulary, with the per-node token tables that make the mask cheap.
///
/// For every node where the matcher waits for a byte, the vocabulary trie is walked once with that node on top
/// of an unknown stack (xgrammar's "adaptive token mask cache"): a token whose bytes are all read inside the
/// node's rule (or that ends exactly where the rule ends) is *accepted* whatever lies below; a token that dies
/// inside the rule is *rejected*; a token that leaves the rule with bytes to spare is an *exit*: what is left of
/// it after the pop (its suffix) is checked against the real caller at run time (`ExitTable`). Most tokens fall
/// in the first two classes, so the run-time work of a state's first visit is a few bitset ORs plus one read per
/// distinct exit suffix.
public final class CompiledGrammar: Sendable {
    public let grammar: Grammar
    public let vocabulary: Vocabulary
    /// Per grammar node (empty for nodes that never wait).
    let tables: [NodeTable]
    /// Wall time of the precompute.
    public let compileSeconds: Double

    struct NodeTable: Sendable, Equatable {
        var accepted = TokenSet.empty
        var exits = ExitTable.empty
    }

    public init(_ grammar: Grammar, vocabulary: Vocabulary) {
        let start = Date()
        self.grammar = grammar
        self.vocabulary = vocabulary
        var dfa = LazyDFA(grammar: grammar)
        var tables = [NodeTable](repeating: NodeTable(), count: grammar.nodes.count)
        // Nodes with equal tables share one copy (a `maxLength` string repeats the same few nodes n times; their
        // bitsets would otherwise be stored n times).
        var shared: [TokenMask: TokenSet] = [:]
        for n in grammar.nodes.indices where !grammar.nodes[n].edges.isEmpty {
            var table = Self.table(node: Int32(n), vocabulary: vocabulary, dfa: &dfa)
            if case .bits(let mask) = table.accepted {
                if let same = shared[mask] { table.accepted = same } else { shared[mask] = table.accepted }
            }
            tables[n] = table
            // The DFA only serves these walks; drop it when it grows, so memory stays bounded on big grammars.
            if dfa.count > LazyDFA.capacity { dfa = LazyDFA(grammar: grammar) }
        }
        self.tables = tables
        compileSeconds = Date().timeIntervalSince(start)
    }

    /// Walks the vocabulary trie in depth-first order with `node` on top of a probe stack.
    static func table(node: Int32, vocabulary v: Vocabulary, dfa: inout LazyDFA) -> NodeTable {
        let startSet = dfa.single(dfa.pool.push(node, on: StackPool.probe))
        // DFA state after each depth of the current trie path.
        var states = [Int32](repeating: startSet, count: 64)
        // Depths along the current path where some reading popped out of the rule (ascending). The start set
        // itself may pop (the node can be skipped), but those tokens are read by the caller's own stacks,
        // which are in every real state beside this node.
        var pops: [Int32] = []
        var accepted: [Int32] = []
        var exits: [(token: Int32, offset: Int32)] = []
        var i = 1
        let n = v.nodeCount
        while i < n {
            let d = Int(v.depth[i])
            if d >= states.count { states.append(contentsOf: [Int32](repeating: startSet, count: d + 1 - states.count + 16)) }
            while let last = pops.last, Int(last) >= d { pops.removeLast() }
            let nextID = dfa.step(states[d - 1], v.byte[i])
            let next = dfa.sets[Int(nextID)]
            for t in v.terminalStart[i] ..< v.terminalStart[i + 1] {
                let id = v.terminalIDs[Int(t)]
                if !next.stacks.isEmpty || next.hitProbe {
                    accepted.append(id)
                } else {
                    for p in pops { exits.append((id, p)) }
                }
            }
            if next.stacks.isEmpty {
                // Nothing reads further inside the rule: the subtree's longer tokens can only go on in the
                // caller, after one of the pops along the path (this depth included).
                let end = Int(v.subtreeEnd[i])
                if next.hitProbe { pops.append(Int32(d)) }
                if !pops.isEmpty {
                    for t in v.terminalStart[i + 1] ..< v.terminalStart[end] {
                        for p in pops { exits.append((v.terminalIDs[Int(t)], p)) }
                    }
                }
                i = end
                continue
            }
            states[d] = nextID
            if next.hitProbe { pops.append(Int32(d)) }
            i += 1
        }
        return NodeTable(accepted: TokenSet(accepted, vocabularySize: v.size), exits: ExitTable(entries: exits, vocabulary: v))
    }

    /// A fresh matcher at the grammar's start.
    public func matcher() -> GrammarMatcher { GrammarMatcher(self) }
}
