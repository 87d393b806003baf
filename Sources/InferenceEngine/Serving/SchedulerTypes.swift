import Foundation
import LanguageModels

/// How many requests the scheduler holds, and how it reads prompts.
public struct SchedulerOptions: Sendable, Equatable {
    /// Requests waiting for a running slot; one more is refused (`SchedulerError.queueFull`, HTTP 429).
    public var maxQueue = 64
    /// Sequences in the running batch (each step advances every one of them in one forward).
    public var maxRunning = 8
    /// Prompt tokens read per step across sequences, beside the decode tokens (at least one chunk is read).
    public var maxBatchTokens = 64
    /// Prompts are read in chunks of this many tokens on an absolute grid, whatever the load or cache hits,
    /// so a sequence's results never depend on them. Smaller chunks keep running streams flowing while a long
    /// prompt is read; larger ones read prompts faster. At 64 (the grid), steps with no decoding sequence read
    /// up to `PrefillGrid.wide` tokens at once (same bits; see `Scheduler.idleChunk`).
    public var prefillChunk = PrefillGrid.chunk
    /// Prefix cache: snapshots every `prefixBlockTokens` prompt tokens (a multiple of `prefillChunk`) under
    /// this many bytes (0 = off).
    public var prefixCacheBytes = 0
    public var prefixBlockTokens = 256
    /// Memory for live sequences' KV caches and recurrent states: new sequences wait while admitting them would
    /// pass it (0 = no limit). A sequence that alone cannot fit its prompt is refused at submission.
    public var kvMemoryBytes = 0

    public init(maxQueue: Int = 64, maxRunning: Int = 8) {
        self.maxQueue = maxQueue
        self.maxRunning = maxRunning
    }
}

/// The prompt-reading grid the CLI and the server share.
public enum PrefillGrid {
    /// 64 = the Gated DeltaNet chunk and the largest token count of the GEMV kernel, so every prefill matmul
    /// runs the same row-invariant kernel as decode.
    public static let chunk = Segments.grid

    /// Prompt tokens per forward when no stream waits for the step (the CLI; the server while no sequence is
    /// decoding): several grid chunks at once give the same bits as one per forward (`Segments.pieces`), and an
    /// MoE layer reads each active expert once for ~8× more tokens (35B-A3B prefill ~1.2× faster).
    public static let wide = 512

    /// The end of the chunk that starts at `read` in a prompt of `count` tokens: the next grid line or the end.
    public static func chunkEnd(from read: Int, count: Int, chunk: Int = chunk) -> Int {
        Segments.chunkEnd(from: read, count: count, chunk: chunk)
    }
}

public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    case queueFull(waiting: Int)
    case shuttingDown
    public var description: String {
        switch self {
        case .queueFull(let n): "the server is busy: \(n) requests are already waiting"
        case .shuttingDown: "the server is shutting down"
        }
    }
}

/// Queue depth, running sequences and the prefix cache, for metrics.
public struct SchedulerStats: Sendable, Equatable {
    public var waiting: Int
    public var running: Int
    public var cacheHits = 0
    public var cacheMisses = 0
    public var cachedTokens = 0
    public var cacheBytes = 0
    public var cacheNodes = 0
    /// Bytes held by the running sequences' caches and states.
    public var kvBytes = 0
    public init(waiting: Int, running: Int) {
        self.waiting = waiting
        self.running = running
    }
    init(waiting: Int, running: Int, cache: PrefixCache?) {
        self.init(waiting: waiting, running: running)
        if let cache {
            cacheHits = cache.hits; cacheMisses = cache.misses; cachedTokens = cache.cachedTokens
            cacheBytes = cache.bytes; cacheNodes = cache.nodes
        }
    }
}

/// The events of one submitted request. Dropping it (and its iterators) cancels the request on the engine.
public struct GenerationStream: AsyncSequence, Sendable {
    public typealias Element = GenerationEvent
    let base: AsyncThrowingStream<GenerationEvent, Error>
    let ticket: CancelTicket

    public init(base: AsyncThrowingStream<GenerationEvent, Error>, ticket: CancelTicket) {
        self.base = base
        self.ticket = ticket
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<GenerationEvent, Error>.AsyncIterator
        let ticket: CancelTicket
        public mutating func next() async throws -> GenerationEvent? { try await base.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), ticket: ticket) }
}

/// Runs its action when the last holder lets go (a no-op once the request has finished).
public final class CancelTicket: Sendable {
    let action: @Sendable () -> Void
    public init(_ action: @escaping @Sendable () -> Void) { self.action = action }
    deinit { action() }
}
