import Foundation
import LanguageModels

/// How many requests the scheduler holds.
public struct SchedulerOptions: Sendable, Equatable {
    /// Requests waiting for a running slot; one more is refused (`SchedulerError.queueFull`, HTTP 429).
    public var maxQueue = 64
    /// Sequences stepped together (each step advances every running sequence by one token).
    public var maxRunning = 8
    public init(maxQueue: Int = 64, maxRunning: Int = 8) {
        self.maxQueue = maxQueue
        self.maxRunning = maxRunning
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

/// Queue depth and running sequences, for metrics.
public struct SchedulerStats: Sendable, Equatable {
    public var waiting: Int
    public var running: Int
    public init(waiting: Int, running: Int) {
        self.waiting = waiting
        self.running = running
    }
}

/// One thread owns the model and every live sequence (llama.cpp's server loop, mlx-swift-lm's single-threaded
/// model container). Requests arrive through `submit` from any thread and leave as an async stream of events;
/// the thread admits waiting requests up to `maxRunning`, then steps all running sequences: a new one gets its
/// prefill (at most one per step, so running streams keep flowing), the others one decode token. Every token is
/// yielded the moment it is sampled. A stream whose consumer goes away (client disconnect) is cancelled before
/// its sequence's next forward. The step is the seam where continuous batching will put the running sequences
/// into one forward.
public final class Scheduler: @unchecked Sendable {
    private let model: any LanguageModel
    private let makeText: @Sendable () -> any StreamingTextDecoder
    public let options: SchedulerOptions

    // Guarded by `cond`.
    private let cond = NSCondition()
    private var waiting: [Job] = []
    private var cancelled: Set<UInt64> = []
    /// Submitted and not yet finished.
    private var live: Set<UInt64> = []
    private var accepting = true
    private var stopping = false
    private var running = 0
    private var nextID: UInt64 = 0
    private var thread: Thread?
    private var exited = false

    /// `makeText` builds each request's streaming detokenizer.
    public init(model: any LanguageModel, options: SchedulerOptions = .init(),
                makeText: @escaping @Sendable () -> any StreamingTextDecoder) {
        self.model = model
        self.options = options
        self.makeText = makeText
    }

    /// Starts the engine thread (idempotent).
    public func start() {
        cond.lock(); defer { cond.unlock() }
        guard thread == nil else { return }
        let t = Thread { [self] in loop() }
        t.name = "qwenkit-engine"
        t.stackSize = 16 << 20
        thread = t
        t.start()
    }

    /// Validates `request` (throws `GenerationError` naming the parameter) and queues it; the stream yields
    /// `.delta` events, then one `.finished`. Throws `SchedulerError.queueFull` when `maxQueue` requests wait.
    public func submit(_ request: GenerationRequest) throws -> GenerationStream {
        let decoder = try SequenceDecoder(request: request, limits: model.limits, text: makeText())
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: GenerationEvent.self)
        cond.lock()
        guard accepting else { cond.unlock(); throw SchedulerError.shuttingDown }
        // Free running slots take requests at once; beyond them, `maxQueue` may wait.
        guard waiting.count < options.maxQueue + max(0, options.maxRunning - running) else {
            let n = waiting.count
            cond.unlock()
            throw SchedulerError.queueFull(waiting: n)
        }
        nextID += 1
        let job = Job(id: nextID, decoder: decoder, continuation: continuation)
        waiting.append(job)
        live.insert(job.id)
        cond.signal()
        cond.unlock()
        // A consumer task that is cancelled ends the stream (onTermination); a consumer that just drops the
        // stream releases the ticket. Either cancels the sequence.
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.cancel(job.id) }
        }
        return GenerationStream(base: stream, ticket: CancelTicket { [weak self] in self?.cancel(job.id) })
    }

    public var stats: SchedulerStats {
        cond.lock(); defer { cond.unlock() }
        return SchedulerStats(waiting: waiting.count, running: running)
    }

    /// Stops accepting, lets queued and running requests finish for up to `timeout`, then cancels what is left
    /// (their streams end with `SchedulerError.shuttingDown`) and stops the thread.
    public func shutdown(drainTimeout: Duration) async {
        locked { accepting = false }
        let deadline = ContinuousClock.now + drainTimeout
        while ContinuousClock.now < deadline {
            let s = stats
            if s.waiting == 0 && s.running == 0 { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        locked { stopping = true; cond.broadcast() }
        while true {
            if locked({ exited || thread == nil }) { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        cond.lock(); defer { cond.unlock() }
        return body()
    }

    private func cancel(_ id: UInt64) {
        cond.lock()
        if let i = waiting.firstIndex(where: { $0.id == id }) {
            waiting.remove(at: i)
            live.remove(id)
        } else if live.contains(id) {
            cancelled.insert(id)
            cond.signal()
        }
        cond.unlock()
    }

    private func isCancelled(_ id: UInt64) -> Bool {
        cond.lock(); defer { cond.unlock() }
        return cancelled.contains(id)
    }

    // MARK: - The engine thread

    private func loop() {
        var active: [Job] = []
        while true {
            cond.lock()
            while waiting.isEmpty && active.isEmpty && !stopping { cond.wait() }
            if stopping {
                let left = active + waiting
                waiting.removeAll()
                live.removeAll()
                running = 0
                exited = true
                cond.unlock()
                for job in left { job.continuation.finish(throwing: SchedulerError.shuttingDown) }
                return
            }
            while active.count < options.maxRunning, !waiting.isEmpty { active.append(waiting.removeFirst()) }
            running = active.count
            let gone = cancelled
            cancelled.removeAll()
            cond.unlock()

            active.removeAll { job in
                guard gone.contains(job.id) else { return false }
                job.continuation.finish()
                locked { _ = live.remove(job.id) }
                return true
            }
            var prefilled = false
            for job in active where !job.done {
                if job.state == nil {
                    if prefilled { continue }
                    prefilled = true
                }
                if isCancelled(job.id) { continue }
                step(job)
            }
            active.removeAll { $0.done }
            locked { running = active.count }
        }
    }

    /// One token for `job`: its prefill or the forward of its last token, then sampling, then the events.
    private func step(_ job: Job) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let logits: [Float]   // [1, V]
        if let id = job.pending {
            logits = model.forward([id], state: &job.state!, allLogits: false)
        } else {
            var state = model.makeState()
            logits = model.forward(job.decoder.request.promptIDs, state: &state, allLogits: false)
            job.state = state
        }
        let s = job.decoder.consume(logits)
        job.pending = s.token
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if job.decoder.generated == 1 { job.timing.prefillSeconds = seconds } else { job.timing.decodeSeconds += seconds }
        if !s.delta.isEmpty { job.continuation.yield(.delta(s.delta)) }
        if let reason = s.finish {
            job.continuation.yield(.finished(reason, job.decoder.usage(), timing: job.timing))
            job.continuation.finish()
            job.done = true
            job.state = nil
            locked { _ = live.remove(job.id) }
        }
    }

    /// A sequence owned by the engine thread once admitted.
    private final class Job: @unchecked Sendable {
        let id: UInt64
        var decoder: SequenceDecoder
        let continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation
        var state: SequenceState?
        var pending: Int?
        var timing = GenerationTiming()
        var done = false
        init(id: UInt64, decoder: SequenceDecoder, continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation) {
            self.id = id
            self.decoder = decoder
            self.continuation = continuation
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
