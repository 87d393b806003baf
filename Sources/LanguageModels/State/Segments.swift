import Kernels

/// The rows of one forward pass: consecutive segments, one per sequence, each `counts[i]` tokens long and
/// continuing its own state from absolute position `starts[i]`. One segment is the single-sequence forward;
/// several are a batch, whose projections then run on the row-wise GEMV kernel (`matmul(rowwise:)`) so that no
/// row's result depends on the others.
///
/// A forward may read a prompt several grid chunks at a time (`Segments.grid`): its projections are then
/// row-wise too, and the blocks whose kernels depend on how many rows they get (attention, the Gated DeltaNet
/// delta rule) run piece by piece on the grid (`pieces`), so the result is the same bits as reading the prompt
/// one grid chunk per forward.
public struct Segments: Sendable, Equatable {
    public let counts: [Int]
    /// Absolute position of each segment's first row (its state's position).
    public let starts: [Int]
    /// (first row, tokens) of each segment.
    public let ranges: [(Int, Int)]
    public let total: Int

    /// The prefill grid: prompts are read in chunks that end on its multiples. It is the Gated DeltaNet chunk
    /// (the pieces must start where the chunked delta rule's chunks do), 64, which is also the largest token
    /// count of the GEMV kernel (`MatmulFormat.gemvMaxTokens`), so a one-chunk forward runs the row-invariant
    /// kernels decode runs.
    public static let grid = gdnChunkSize

    public init(_ counts: [Int], starts: [Int]? = nil) {
        precondition(!counts.isEmpty && counts.allSatisfy { $0 > 0 }, "segments need at least one token each")
        precondition(starts == nil || starts!.count == counts.count, "\(starts!.count) starts for \(counts.count) segments")
        self.counts = counts
        self.starts = starts ?? counts.map { _ in 0 }
        var r: [(Int, Int)] = [], at = 0
        for n in counts { r.append((at, n)); at += n }
        ranges = r
        total = at
    }

    public var count: Int { counts.count }
    /// Batched, or more rows than one grid chunk: row-invariant kernels everywhere.
    public var rowwise: Bool { counts.count > 1 || total > Segments.grid }

    /// Segment `i` cut where its absolute positions cross a multiple of the grid: (offset in the segment,
    /// tokens) of each piece, in order. One piece unless the segment spans several grid chunks.
    public func pieces(_ i: Int) -> [(offset: Int, count: Int)] {
        var out: [(offset: Int, count: Int)] = []
        var at = 0
        while at < counts[i] {
            let end = Segments.chunkEnd(from: starts[i] + at, count: starts[i] + counts[i]) - starts[i]
            out.append((at, end - at))
            at = end
        }
        return out
    }

    /// The end of the chunk that starts at position `read` of a sequence of `count` tokens: the next multiple
    /// of `chunk` (the grid, or a smaller grid that divides it), or the end.
    public static func chunkEnd(from read: Int, count: Int, chunk: Int = grid) -> Int {
        min(count, (read / chunk + 1) * chunk)
    }

    public static func == (a: Segments, b: Segments) -> Bool { a.counts == b.counts && a.starts == b.starts }
}
