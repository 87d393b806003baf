/// A set of token ids as a bitset over the vocabulary (248k tokens = 3.9k words).
public struct TokenMask: Sendable, Equatable {
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

    public mutating func formUnion(_ other: TokenMask) {
        for i in words.indices { words[i] |= other.words[i] }
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
