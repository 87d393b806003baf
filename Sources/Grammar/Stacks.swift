/// Pushdown stacks, hash-consed: a stack is an index into the pool and equal stacks have equal indices, so a
/// matcher state (a set of stacks) is a small sorted array of integers that can key a cache.
struct StackPool {
    private(set) var node: [Int32] = []
    private(set) var parent: [Int32] = []
    private var index: [UInt64: Int32] = [:]

    /// Below the root rule: popping to it completes the grammar.
    static let root: Int32 = -1
    /// Below a frame whose caller is unknown (the per-node precompute): popping to it makes a token's fate
    /// depend on the stack.
    static let probe: Int32 = -2

    var count: Int { node.count }

    mutating func push(_ n: Int32, on p: Int32) -> Int32 {
        let key = UInt64(UInt32(bitPattern: n)) << 32 | UInt64(UInt32(bitPattern: p))
        if let h = index[key] { return h }
        node.append(n)
        parent.append(p)
        let h = Int32(node.count - 1)
        index[key] = h
        return h
    }
}

/// A closed set of stacks: every stack's top node waits for a byte.
struct StackSet: Hashable, Sendable {
    var stacks: [Int32]
    /// Some path reached the end of the root rule.
    var complete: Bool
    /// Some path popped to `StackPool.probe`.
    var hitProbe: Bool
}

extension Grammar {
    /// Follows epsilon, call and end-of-rule moves from `seeds` until every stack waits for a byte.
    func close(_ seeds: [Int32], _ pool: inout StackPool) -> StackSet {
        var out = StackSet(stacks: [], complete: false, hitProbe: false)
        var seen: [Int32] = []
        var work = seeds
        while let h = work.popLast() {
            if seen.contains(h) { continue }
            seen.append(h)
            let n = Int(pool.node[Int(h)])
            let parent = pool.parent[Int(h)]
            let node = nodes[n]
            if !node.edges.isEmpty { out.stacks.append(h) }
            if node.isEnd {
                if parent == StackPool.root { out.complete = true }
                else if parent == StackPool.probe { out.hitProbe = true }
                else { work.append(parent) }
            }
            for e in node.epsilon { work.append(pool.push(e, on: parent)) }
            for c in node.calls {
                // Left recursion would push forever; no front end makes it, and depth is bounded anyway.
                let ret = pool.push(c.ret, on: parent)
                work.append(pool.push(c.start, on: ret))
            }
            if seen.count > 4096 { break }
        }
        out.stacks.sort()
        return out
    }

    /// The stacks after reading `byte` (closed).
    func advance(_ state: StackSet, _ byte: UInt8, _ pool: inout StackPool) -> StackSet {
        var seeds: [Int32] = []
        for h in state.stacks {
            let n = Int(pool.node[Int(h)])
            let parent = pool.parent[Int(h)]
            for e in nodes[n].edges where e.lo <= byte && byte <= e.hi {
                seeds.append(pool.push(e.to, on: parent))
            }
        }
        return seeds.isEmpty ? StackSet(stacks: [], complete: false, hitProbe: false) : close(seeds, &pool)
    }

    /// Whether `bytes` can be read from `state` (ending anywhere, including at the grammar's end).
    func accepts(_ state: StackSet, _ bytes: [UInt8], _ pool: inout StackPool) -> Bool {
        var s = state
        for (i, b) in bytes.enumerated() {
            s = advance(s, b, &pool)
            // The grammar may end exactly with the token's last byte.
            if s.stacks.isEmpty { return i == bytes.count - 1 && s.complete }
        }
        return !s.stacks.isEmpty || s.complete
    }
}
