/// The rows of one forward pass: consecutive segments, one per sequence, each `counts[i]` tokens long and
/// continuing its own state. One segment is the single-sequence forward; several are a batch, whose projections
/// then run on the row-wise GEMV kernel (`matmul(rowwise:)`) so that no row's result depends on the others.
public struct Segments: Sendable, Equatable {
    public let counts: [Int]
    /// (first row, tokens) of each segment.
    public let ranges: [(Int, Int)]
    public let total: Int

    public init(_ counts: [Int]) {
        precondition(!counts.isEmpty && counts.allSatisfy { $0 > 0 }, "segments need at least one token each")
        self.counts = counts
        var r: [(Int, Int)] = [], at = 0
        for n in counts { r.append((at, n)); at += n }
        ranges = r
        total = at
    }

    public var count: Int { counts.count }
    /// Batched: row-invariant kernels everywhere.
    public var rowwise: Bool { counts.count > 1 }

    public static func == (a: Segments, b: Segments) -> Bool { a.counts == b.counts }
}
