import Foundation
import LanguageModels

/// Snapshots of whole sequence states at fixed block boundaries of the prompt (every `blockTokens` tokens,
/// a multiple of the prefill chunk), in a tree keyed by the blocks' token ids, under an LRU memory budget.
///
/// Why fixed boundaries: a Gated DeltaNet state summarises the whole past and cannot be trimmed back, so a
/// state can only be reused at a point where one was saved. Saving at every block boundary makes the saved
/// points line up with whatever agents resend — the same system prompt and tools, the earlier turns of a
/// conversation — up to at most one block short of the shared prefix, without guessing where messages end.
/// Each node holds its block's KV pages (shared with the sequence that wrote them, by reference count) and the
/// recurrent states at its end; a restore joins the pages along the path (no KV is copied) and takes the
/// deepest node's recurrent states.
///
/// Exactness: prompts are always read in chunks on the same absolute grid and every kernel is row-invariant,
/// so a state restored at a boundary is bit-identical to the one a fresh run reaches there (tested).
final class PrefixCache {
    final class Node {
        let tokens: [Int]                   // this block's ids
        weak var parent: Node?
        var children: [[Int]: Node] = [:]
        /// Per layer: the block's KV rows (`[B, Hkv, D]` keys and values) or the recurrent state at the end.
        let layers: [LayerState]
        let depth: Int                      // blocks from the root
        let bytes: Int
        var lastUsed: UInt64 = 0
        var detached = false
        init(tokens: [Int], parent: Node?, layers: [LayerState], depth: Int) {
            self.tokens = tokens
            self.parent = parent
            self.layers = layers
            self.depth = depth
            bytes = layers.reduce(0) { sum, l in
                switch l {
                case .attention(let kv): sum + kv.byteCount
                case .recurrent(let r): sum + r.byteCount
                }
            } + tokens.count * MemoryLayout<Int>.size
        }
    }

    let blockTokens: Int
    let budgetBytes: Int
    private let root = Node(tokens: [], parent: nil, layers: [], depth: 0)
    private var clock: UInt64 = 0
    private(set) var bytes = 0
    private(set) var nodes = 0
    private(set) var hits = 0
    private(set) var misses = 0
    private(set) var cachedTokens = 0

    init(blockTokens: Int, budgetBytes: Int) {
        self.blockTokens = blockTokens
        self.budgetBytes = budgetBytes
    }

    /// The deepest saved state for a prefix of `prompt` that leaves at least one token to read (its logits
    /// start the reply): the node, or nil when no block matches.
    func lookup(_ prompt: [Int]) -> Node? {
        var node = root, best: Node?
        var at = 0
        while at + blockTokens <= prompt.count - 1, let next = node.children[Array(prompt[at..<(at + blockTokens)])] {
            node = next
            best = next
            at += blockTokens
        }
        clock += 1
        var n = best
        while let m = n, m !== root { m.lastUsed = clock; n = m.parent }
        if let best { hits += 1; cachedTokens += best.depth * blockTokens } else { misses += 1 }
        return best
    }

    /// The whole sequence state at `node`'s end: KV rows concatenated along the path, the node's recurrent states.
    func restore(_ node: Node, into fresh: SequenceState) -> SequenceState {
        var path: [Node] = []
        var n: Node? = node
        while let m = n, m !== root { path.append(m); n = m.parent }
        path.reverse()
        var state = fresh
        for i in state.layers.indices {
            switch node.layers[i] {
            case .recurrent(let r):
                state.layers[i] = .recurrent(r)
            case .attention(let kv):
                var full = KVCache(pool: kv.pool)   // the path's pages, shared, not copied
                for p in path {
                    guard case .attention(let block) = p.layers[i] else { continue }
                    full = full.joined(block)
                }
                state.layers[i] = .attention(full)
            }
        }
        state.position = node.depth * blockTokens
        return state
    }

    /// Saves `state` (which has just read the prompt up to a block boundary) as the child of `parent` (nil =
    /// the root); returns the node to continue from, or nil when the parent was evicted meanwhile.
    @discardableResult
    func insert(block: [Int], after parent: Node?, state: SequenceState) -> Node? {
        let p = parent ?? root
        if p.detached { return nil }
        if let existing = p.children[block] { clock += 1; existing.lastUsed = clock; return existing }
        let layers: [LayerState] = state.layers.map { layer in
            switch layer {
            case .recurrent(let r): return .recurrent(r)   // a value: the live state copies on its next write
            case .attention(let kv):
                return .attention(kv.slice((kv.count - blockTokens)..<kv.count))   // the block's pages, shared
            }
        }
        let node = Node(tokens: block, parent: p, layers: layers, depth: p.depth + 1)
        guard node.bytes <= budgetBytes else { return nil }
        clock += 1
        node.lastUsed = clock
        p.children[block] = node
        bytes += node.bytes
        nodes += 1
        evict(keeping: node)
        return node
    }

    /// Drops least recently used leaves until the cache fits its budget (a parent only goes after its children).
    private func evict(keeping keep: Node) {
        while bytes > budgetBytes {
            var victim: Node?
            var stack = [root]
            while let n = stack.popLast() {
                for c in n.children.values {
                    if c.children.isEmpty, c !== keep, victim == nil || c.lastUsed < victim!.lastUsed { victim = c }
                    stack.append(c)
                }
            }
            guard let v = victim, let p = v.parent else { return }
            p.children[v.tokens] = nil
            v.detached = true
            bytes -= v.bytes
            nodes -= 1
        }
    }
}
