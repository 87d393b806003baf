/// The tokenizer's vocabulary as bytes, arranged as a trie for the mask walk. Token ids index `tokens`; an empty
/// entry is a token the grammar never allows (special tokens: end-of-turn is the caller's business).
public struct Vocabulary: Sendable {
    /// Bytes of each token id (empty: never allowed by a grammar).
    public let tokens: [[UInt8]]
    public var size: Int { tokens.count }

    // MARK: - Trie (nodes in depth-first order, so a node's subtree is the index range node ..< subtreeEnd)

    /// Byte on the edge into node i (node 0 is the root).
    let byte: [UInt8]
    /// Bytes from the root to node i.
    let depth: [Int32]
    /// One past the last node of i's subtree.
    let subtreeEnd: [Int32]
    /// Tokens whose bytes end exactly at node i: `terminalIDs[terminalStart[i] ..< terminalStart[i+1]]`.
    let terminalStart: [Int32]
    let terminalIDs: [Int32]
    var nodeCount: Int { byte.count }

    public init(tokens: [[UInt8]]) {
        self.tokens = tokens
        // Sorted byte strings list the trie's nodes in depth-first order: a token adds a node for every byte
        // after its common prefix with the previous token.
        let order = tokens.indices.filter { !tokens[$0].isEmpty }.sorted { tokens[$0].lexicographicallyPrecedes(tokens[$1]) }
        var byte: [UInt8] = [0], depth: [Int32] = [0]
        var endNode = [Int32](repeating: 0, count: tokens.count)
        var path: [Int32] = [0]   // node at each depth of the previous token
        var previous: [UInt8] = []
        for id in order {
            let t = tokens[id]
            var common = 0
            while common < t.count && common < previous.count && t[common] == previous[common] { common += 1 }
            if common < t.count || t.count < previous.count {
                path.removeLast(path.count - common - 1)
                for d in common..<t.count {
                    byte.append(t[d])
                    depth.append(Int32(d + 1))
                    path.append(Int32(byte.count - 1))
                }
                previous = t
            }
            endNode[id] = path[t.count]
        }
        self.byte = byte
        self.depth = depth
        var end = [Int32](repeating: Int32(byte.count), count: byte.count)
        var stack: [Int] = []
        for i in 0..<byte.count {
            while let top = stack.last, depth[top] >= depth[i] { end[top] = Int32(i); stack.removeLast() }
            stack.append(i)
        }
        subtreeEnd = end
        var starts = [Int32](repeating: 0, count: byte.count + 1)
        for id in order { starts[Int(endNode[id]) + 1] += 1 }
        for i in 0..<byte.count { starts[i + 1] += starts[i] }
        var fill = starts
        var ids = [Int32](repeating: 0, count: order.count)
        for id in order {
            let n = Int(endNode[id])
            ids[Int(fill[n])] = Int32(id)
            fill[n] += 1
        }
        terminalStart = starts
        terminalIDs = ids
    }
}
