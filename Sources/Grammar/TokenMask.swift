/// A set of token ids as a bitset over the vocabulary (248k tokens = 3.9k words).
public struct TokenMask: Sendable, Hashable {
    public private(set) var words: [UInt64]
    public let count: Int

    public init(count: Int, allSet: Bool = false) {
        self.count = count
        words = [UInt64](repeating: allSet ? ~0 : 0, count: (count + 63) / 64)
        if allSet, count % 64 != 0 { words[words.count - 1] = (1 << UInt64(count % 64)) - 1 }
    }

    public subscript(id: Int) -> Bool {
        get { id >= 0 && id < count && words[id >> 6] & (1 << UInt64(id & 63)) != 0 }
        set {
            guard id >= 0 && id < count else { return }
            if newValue { words[id >> 6] |= 1 << UInt64(id & 63) } else { words[id >> 6] &= ~(1 << UInt64(id & 63)) }
        }
    }

    /// Adds ids known to be in range (the grammar's own tables): no bounds test per id.
    mutating func insert<C: Collection>(_ ids: C) where C.Element == Int32 {
        words.withUnsafeMutableBufferPointer { w in
            for id in ids { w[Int(id) >> 6] |= 1 << UInt64(id & 63) }
        }
    }

    public mutating func formUnion(_ other: TokenMask) {
        precondition(other.count == count, "union of masks over \(count) and \(other.count) tokens")
        words.withUnsafeMutableBufferPointer { w in
            other.words.withUnsafeBufferPointer { o in
                for i in 0..<w.count { w[i] |= o[i] }
            }
        }
    }

    public mutating func clear() { for i in words.indices { words[i] = 0 } }

    public var popCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The ids in the set, ascending.
    public var ids: [Int] {
        var out: [Int] = []
        for (w, word) in words.enumerated() where word != 0 {
            var bits = word
            while bits != 0 {
                out.append(w << 6 | bits.trailingZeroBitCount)
                bits &= bits - 1
            }
        }
        return out
    }
}

/// Token ids fixed when a grammar is compiled: a list, or a bitset once the list would be larger than one (a
/// free-string state allows ~100k of 248k tokens: a 31 KB bitset ORed in a few µs, instead of 100k scattered
/// bit sets on the first visit of the state).
enum TokenSet: Sendable, Equatable {
    case list([Int32])
    case bits(TokenMask)

    static let empty = TokenSet.list([])

    init(_ ids: [Int32], vocabularySize: Int) {
        // One id costs 4 bytes in a list, the bitset vocabularySize / 8 bytes.
        if ids.count <= vocabularySize / 32 {
            self = .list(ids)
        } else {
            var mask = TokenMask(count: vocabularySize)
            mask.insert(ids)
            self = .bits(mask)
        }
    }

    var isEmpty: Bool {
        switch self {
        case .list(let ids): return ids.isEmpty
        case .bits(let mask): return mask.popCount == 0
        }
    }

    func add(to mask: inout TokenMask) {
        switch self {
        case .list(let ids): mask.insert(ids)
        case .bits(let bits): mask.formUnion(bits)
        }
    }
}
