import Foundation
import LanguageModels

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
    private let footprint: MemoryPlan
    /// The storage type of the model's KV caches, for the log ("f32" when it has none).
    private let kvType: String
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
    private var cacheStats = SchedulerStats(waiting: 0, running: 0)
    private var kvBytes = 0
    private var nextID: UInt64 = 0
    private var thread: Thread?
    private var exited = false
    /// Prompt tokens per forward in a step where no sequence decodes.
    private let idleChunk: Int

    /// With no stream to keep flowing, prompts are read in wider chunks: `PrefillGrid.wide`, or with a prefix
    /// cache the largest multiple of the grid up to it that still ends on every cache block (snapshots are taken
    /// there). A wide forward gives the bits of grid chunks (`Segments.pieces`); chunks smaller than the grid
    /// stay as they are.
    static func idleChunk(_ options: SchedulerOptions) -> Int {
        guard options.prefillChunk == PrefillGrid.chunk else { return options.prefillChunk }
        var c = PrefillGrid.wide
        if options.prefixCacheBytes == 0 { return c }
        while c > PrefillGrid.chunk && options.prefixBlockTokens % c != 0 { c -= PrefillGrid.chunk }
        return c
    }

    /// `makeText` builds each request's streaming detokenizer.
    public init(model: any LanguageModel, options: SchedulerOptions = .init(),
                makeText: @escaping @Sendable () -> any StreamingTextDecoder) {
        precondition(options.prefillChunk > 0 && options.prefillChunk <= PrefillGrid.chunk
                     && options.prefixBlockTokens % options.prefillChunk == 0
                     && options.prefixBlockTokens % KVPagePool.defaultPageTokens == 0,
                     "prefill chunks must fit the row-invariant kernel and prefix blocks be whole chunks")
        self.model = model
        self.options = options
        idleChunk = Scheduler.idleChunk(options)
        let empty = model.makeState()
        footprint = MemoryPlan(empty)
        kvType = empty.layers.lazy.compactMap { if case .attention(let kv) = $0 { kv.type.rawValue } else { nil } }.first ?? "f32"
        self.makeText = makeText
    }

    /// Bytes per token of context and per sequence, and what the KV budget allows: for the startup log.
    public var memorySummary: String {
        let mib = { (b: Int) in String(format: "%.2f MiB", Double(b) / 1_048_576) }
        var s = "KV (\(kvType)) \(footprint.kvBytesPerToken) bytes per token of context + \(mib(footprint.recurrentBytes)) recurrent state per sequence"
        if options.kvMemoryBytes > 0 {
            let tokens = footprint.maxTokens(budget: options.kvMemoryBytes)
            s += "; --kv-memory \(mib(options.kvMemoryBytes)) holds \(tokens) tokens of context in one sequence"
            s += " (model context \(model.maxContextLength))"
        }
        if options.prefixCacheBytes > 0 { s += "; prefix cache \(mib(options.prefixCacheBytes)) in blocks of \(options.prefixBlockTokens) tokens" }
        return s
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
        if options.kvMemoryBytes > 0, footprint.bytes(tokens: request.promptIDs.count + 1) > options.kvMemoryBytes {
            throw GenerationError.invalidParameter(
                "prompt: \(request.promptIDs.count) tokens need \(footprint.bytes(tokens: request.promptIDs.count + 1)) bytes of KV cache and state; the server's budget (--kv-memory) is \(options.kvMemoryBytes)")
        }
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
        var s = cacheStats
        s.waiting = waiting.count
        s.running = running
        return s
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
        let cache = options.prefixCacheBytes > 0
            ? PrefixCache(blockTokens: options.prefixBlockTokens, budgetBytes: options.prefixCacheBytes) : nil
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
            var admitted: [Job] = []
            var used = kvBytes
            while active.count + admitted.count < options.maxRunning, let next = waiting.first {
                let need = footprint.bytes(tokens: next.decoder.request.promptIDs.count + 1)
                if options.kvMemoryBytes > 0, !(active.isEmpty && admitted.isEmpty), used + need > options.kvMemoryBytes { break }
                used += need
                admitted.append(waiting.removeFirst())
            }
            running = active.count + admitted.count   // before the lock is let go: a job is always waiting or running
            let gone = cancelled
            cancelled.removeAll()
            cond.unlock()

            for job in admitted { admit(job, cache: cache) }
            active += admitted
            active.removeAll { job in
                guard gone.contains(job.id) else { return false }
                job.continuation.finish()
                locked { _ = live.remove(job.id) }
                return true
            }
            let late = locked { cancelled }   // one lock per step, not one per sequence
            step(late.isEmpty ? active : active.filter { !late.contains($0.id) }, cache: cache)
            active.removeAll { $0.done }
            var stats = SchedulerStats(waiting: 0, running: active.count, cache: cache)
            stats.kvBytes = active.reduce(0) { $0 + footprint.bytes(tokens: $1.read + $1.decoder.generated) }
            locked { running = active.count; cacheStats = stats; kvBytes = stats.kvBytes }
        }
    }

    /// A new sequence starts from the deepest cached prefix of its prompt, or from scratch.
    private func admit(_ job: Job, cache: PrefixCache?) {
        let fresh = model.makeState()
        if let cache, let node = cache.lookup(job.decoder.request.promptIDs) {
            job.state = cache.restore(node, into: fresh)
            job.read = node.depth * cache.blockTokens
            job.cachedTokens = job.read
            job.cacheNode = node
        } else {
            job.state = fresh
        }
    }

    /// One forward for the running sequences: a token for each decoding one, and the next chunk of the
    /// prompt (on the absolute `prefillChunk` grid, `idleChunk` when none decodes) for reading ones while the
    /// step's token budget lasts (at least one chunk, so a long prompt always advances). The budget is
    /// `maxBatchTokens` beside decoding streams; with none, no stream waits on the step, so it is at least
    /// `idleChunk`: prompts that arrive together are read in one forward. Then each sequence whose prompt is
    /// done samples.
    private func step(_ jobs: [Job], cache: PrefixCache?) {
        var batch: [Job] = [], ids: [[Int]] = []
        for job in jobs where job.pending != nil {
            batch.append(job); ids.append([job.pending!])
        }
        let (chunk, limit) = batch.isEmpty
            ? (idleChunk, max(options.maxBatchTokens, idleChunk)) : (options.prefillChunk, options.maxBatchTokens)
        var budget = limit, chunks = 0
        for job in jobs where job.pending == nil {
            let prompt = job.decoder.request.promptIDs
            let end = PrefillGrid.chunkEnd(from: job.read, count: prompt.count, chunk: chunk)
            if end - job.read > budget && chunks > 0 { break }
            batch.append(job); ids.append(Array(prompt[job.read..<end]))
            budget -= end - job.read; chunks += 1
        }
        guard !batch.isEmpty else { return }
        let t0 = DispatchTime.now().uptimeNanoseconds
        var states = batch.map { job in
            let s = job.state!
            job.state = nil   // moved, so the forward writes the buffers in place
            return s
        }
        let logits = model.forwardBatch(ids, states: &states)   // [S, V]
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let v = model.vocabSize
        for (i, job) in batch.enumerated() {
            job.state = states[i]
            if job.pending == nil {
                job.read += ids[i].count
                job.timing.prefillSeconds += seconds
                if let cache, job.read % cache.blockTokens == 0, job.read < job.decoder.request.promptIDs.count, !job.cacheDetached {
                    let block = Array(job.decoder.request.promptIDs[(job.read - cache.blockTokens)..<job.read])
                    job.cacheNode = cache.insert(block: block, after: job.cacheNode, state: states[i])
                    job.cacheDetached = job.cacheNode == nil
                }
                if job.read < job.decoder.request.promptIDs.count { continue }
            } else {
                job.timing.decodeSeconds += seconds
            }
            emit(job, job.decoder.consume(batch.count == 1 ? logits : Array(logits[(i * v)..<((i + 1) * v)])))
        }
    }

    private func emit(_ job: Job, _ s: DecodeStep) {
        job.pending = s.token
        if !s.delta.isEmpty { job.continuation.yield(.delta(s.delta)) }
        if let reason = s.finish {
            var usage = job.decoder.usage()
            usage.cachedTokens = job.cachedTokens
            job.continuation.yield(.finished(reason, usage, timing: job.timing))
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
        /// Prompt tokens read so far (restored from the cache or prefilled).
        var read = 0
        var cachedTokens = 0
        /// The cache node of the last block boundary reached (inserts continue from it).
        var cacheNode: PrefixCache.Node?
        var cacheDetached = false
        /// The last sampled token, fed at the next step (nil while the prompt is being read).
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
