/// An added token of `tokenizer.json` (`added_tokens`): matched in the raw text before normalisation and BPE.
public struct AddedToken: Sendable, Equatable {
    public let id: Int
    public let content: String
    /// `special: true` tokens are dropped by `decode(skipSpecialTokens:)` and encoded as text with
    /// `splitSpecialTokens`.
    public let special: Bool
    /// `normalized: true` tokens are matched in the normalised text instead of the raw text.
    public let normalized: Bool
}

/// Leftmost-longest matching of added tokens in UTF-8 bytes (HF uses Aho-Corasick with the same match kind).
struct AddedTokenMatcher: Sendable {
    private struct Node: Sendable {
        var children: [UInt8: Int32] = [:]
        var token: Int32 = -1          // index into `ids` when a token ends here
    }
    private var nodes = [Node()]
    private var ids: [Int] = []
    /// Bytes that can start a token: the scan skips everything else in one compare.
    private var firstBytes = [Bool](repeating: false, count: 256)

    var isEmpty: Bool { ids.isEmpty }

    init(_ tokens: [AddedToken]) {
        for t in tokens where !t.content.isEmpty {
            var node = 0
            for b in t.content.utf8 {
                if let c = nodes[node].children[b] { node = Int(c); continue }
                nodes.append(Node())
                nodes[node].children[b] = Int32(nodes.count - 1)
                node = nodes.count - 1
            }
            if nodes[node].token < 0 { nodes[node].token = Int32(ids.count); ids.append(t.id) }
            firstBytes[Int(t.content.utf8.first!)] = true
        }
    }

    /// Splits `bytes` into text gaps and tokens: `text(start, end)` for gaps, `token(id)` for matches.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, text: (Int, Int) -> Void, token: (Int) -> Void) {
        var gap = 0
        var p = 0
        let n = bytes.count
        while p < n {
            guard firstBytes[Int(bytes[p])] else { p += 1; continue }
            var node = 0, q = p
            var matchEnd = -1, matchID = -1
            while q < n, let c = nodes[node].children[bytes[q]] {
                node = Int(c); q += 1
                if nodes[node].token >= 0 { matchEnd = q; matchID = ids[Int(nodes[node].token)] }
            }
            if matchEnd < 0 { p += 1; continue }
            if gap < p { text(gap, p) }
            token(matchID)
            p = matchEnd; gap = p
        }
        if gap < n { text(gap, n) }
    }
}
