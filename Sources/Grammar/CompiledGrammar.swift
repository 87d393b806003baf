import Foundation

/// A grammar joined to a vocabulary, with the per-node token tables that make the mask cheap.
///
/// For every node where the matcher waits for a byte, the vocabulary trie is walked once with that node on top
/// of an unknown stack (xgrammar's "adaptive token mask cache"): a token whose bytes are all read inside the
/// node's rule (or that ends exactly where the rule ends) is *accepted* whatever lies below; a token that dies
/// inside the rule is *rejected*; a token that leaves the rule with bytes to spare is *uncertain* and is checked
/// against the real stack at run time. Most tokens fall in the first two classes, so the run-time work is a
/// bitset fill plus a few uncertain tokens.
public final class CompiledGrammar: Sendable {
    public let grammar: Grammar
    public let vocabulary: Vocabulary
    /// Per grammar node (empty for nodes that never wait).
    let tables: [NodeTable]
    /// Every token with bytes (the base of a complement table).
    let allTokens: TokenMask
    /// Wall time of the precompute.
    public let compileSeconds: Double

    struct NodeTable: Sendable {
        /// Accepted ids, or (when `acceptedIsComplement`) every id except these (the smaller list is stored).
        var accepted: [Int32] = []
        var acceptedIsComplement = false
        var uncertain: [Int32] = []
    }

    public init(_ grammar: Grammar, vocabulary: Vocabulary) {
        let start = Date()
        self.grammar = grammar
        self.vocabulary = vocabulary
        var dfa = LazyDFA(grammar: grammar)
        var tables = [NodeTable](repeating: NodeTable(), count: grammar.nodes.count)
        for n in grammar.nodes.indices where !grammar.nodes[n].edges.isEmpty {
            tables[n] = Self.table(node: Int32(n), vocabulary: vocabulary, dfa: &dfa)
            // The DFA only serves these walks; drop it when it grows, so memory stays bounded on big grammars.
            if dfa.count > LazyDFA.capacity { dfa = LazyDFA(grammar: grammar) }
        }
        self.tables = tables
        var all = TokenMask(count: vocabulary.size)
        for t in vocabulary.terminalIDs { all[Int(t)] = true }
        allTokens = all
        compileSeconds = Date().timeIntervalSince(start)
    }

    /// Walks the vocabulary trie in depth-first order with `node` on top of a probe stack.
    static func table(node: Int32, vocabulary v: Vocabulary, dfa: inout LazyDFA) -> NodeTable {
        let startSet = dfa.single(dfa.pool.push(node, on: StackPool.probe))
        // States along the current trie path; `probed[d]`: a path popped to the probe with bytes left to read.
        var states = [Int32](repeating: startSet, count: 64)
        var probed = [Bool](repeating: false, count: 64)
        var accepted: [Int32] = [], uncertain: [Int32] = []
        var i = 1
        let n = v.nodeCount
        while i < n {
            let d = Int(v.depth[i])
            if d >= states.count {
                states.append(contentsOf: [Int32](repeating: startSet, count: d + 1 - states.count + 16))
                probed.append(contentsOf: [Bool](repeating: false, count: d + 1 - probed.count + 16))
            }
            let nextID = dfa.step(states[d - 1], v.byte[i])
            let next = dfa.sets[Int(nextID)]
            let probedBefore = d > 1 && probed[d - 1]
            let terminals = v.terminalStart[i] ..< v.terminalStart[i + 1]
            if !next.stacks.isEmpty || next.hitProbe {
                for t in terminals { accepted.append(v.terminalIDs[Int(t)]) }
            } else if probedBefore {
                for t in terminals { uncertain.append(v.terminalIDs[Int(t)]) }
            }
            if next.stacks.isEmpty {
                // Nothing can read further inside the rule: the subtree's longer tokens depend on the caller
                // when some path left the rule, else they are rejected.
                let end = Int(v.subtreeEnd[i])
                if probedBefore || next.hitProbe {
                    let from = Int(v.terminalStart[i + 1]), to = Int(v.terminalStart[end])
                    for t in from..<to { uncertain.append(v.terminalIDs[t]) }
                }
                i = end
                continue
            }
            states[d] = nextID
            probed[d] = probedBefore || next.hitProbe
            i += 1
        }
        var table = NodeTable(uncertain: uncertain)
        let tokenCount = v.terminalIDs.count
        if accepted.count * 2 > tokenCount {
            var isAccepted = [Bool](repeating: false, count: v.size)
            for t in accepted { isAccepted[Int(t)] = true }
            for t in uncertain { isAccepted[Int(t)] = true }   // uncertain ids are listed apart, not as rejected
            table.accepted = v.terminalIDs.filter { !isAccepted[Int($0)] }
            table.acceptedIsComplement = true
            // The complement must not re-admit uncertain ids: they are checked at run time, so list them too.
            table.accepted.append(contentsOf: uncertain)
        } else {
            table.accepted = accepted
        }
        return table
    }

    /// A fresh matcher at the grammar's start.
    public func matcher() -> GrammarMatcher { GrammarMatcher(self) }
}
