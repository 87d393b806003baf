import Foundation
import Synchronization

/// Runs data-parallel loops on a fixed set of persistent threads.
///
/// `threadCount - 1` worker pthreads are created once; the calling thread is the last participant.
/// A call publishes the job, bumps a generation counter and takes items itself; workers spin briefly on the
/// counter (decode issues ~100–200 calls per token, microseconds apart) and only then sleep on a condition
/// variable. Items are handed out dynamically (one atomic increment each), so a thread that the OS deschedules
/// on this shared 2-core machine does not hold the others back. A call made while the pool is busy (nested
/// `parallelFor`, or a second caller thread) runs serially on its caller instead of deadlocking.
public final class ThreadPool: @unchecked Sendable {
    /// The pool kernels use unless given another; `qwenkit --threads N` replaces it at startup.
    nonisolated(unsafe) public static var shared = ThreadPool(threads: ProcessInfo.processInfo.activeProcessorCount)

    /// Participating threads, the caller included.
    public let threadCount: Int

    private let core: PoolCore

    public init(threads: Int) {
        threadCount = max(1, threads)
        core = PoolCore(workers: threadCount - 1)
    }

    deinit { core.shutdown() }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over the pool's threads; returns when all are done.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threadCount == 1 || !core.tryAcquire() {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            core.run(count: count, body: body)
        }
        core.release()
    }
}

/// The shared state of one pool, kept apart from `ThreadPool` so that workers retain it, not the pool
/// (the pool's `deinit` stops them).
private final class PoolCore: @unchecked Sendable {
    let workers: Int
    /// Bumped once per job; workers wait for it to change. Negative means "shut down".
    let generation = Atomic<Int>(0)
    /// Next item to hand out.
    let next = Atomic<Int>(0)
    /// Workers that have finished the current job.
    let finished = Atomic<Int>(0)
    /// Workers asleep (or about to sleep) on `cond`.
    let sleepers = Atomic<Int>(0)
    let busy = Atomic<Bool>(false)

    // The current job; written by the caller before the generation bump, read by workers after it.
    nonisolated(unsafe) var count = 0
    nonisolated(unsafe) var body: ((Int) -> Void)? = nil

    var mutex = pthread_mutex_t()
    var cond = pthread_cond_t()
    var threads: [pthread_t] = []

    /// Spin iterations before a worker sleeps: long enough to cover the gap between consecutive kernel calls
    /// of one token (tens of µs), short enough not to burn a core between tokens.
    static let spinLimit = 200_000

    init(workers: Int) {
        self.workers = workers
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&cond, nil)
        for index in 0..<workers {
            let box = Unmanaged.passRetained(WorkerBox(core: self, index: index)).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { arg in
                let box = Unmanaged<WorkerBox>.fromOpaque(arg!).takeRetainedValue()
                box.core.workerLoop()
                return nil
            }, box)
            precondition(rc == 0, "ThreadPool: pthread_create failed (\(rc))")
            threads.append(thread)
        }
    }

    func tryAcquire() -> Bool {
        busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    func release() { busy.store(false, ordering: .releasing) }

    func run(count: Int, body: @escaping (Int) -> Void) {
        self.count = count
        self.body = body
        next.store(0, ordering: .relaxed)
        finished.store(0, ordering: .relaxed)
        // Sequentially consistent with the worker's `sleepers` increment (Dekker): either the worker sees the
        // new generation before it waits, or we see it sleeping and signal.
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(&mutex)
            pthread_cond_broadcast(&cond)
            pthread_mutex_unlock(&mutex)
        }
        work(count: count, body: body)
        // Workers must be done with `body` before it stops being valid.
        while finished.load(ordering: .acquiring) < workers { spinPause() }
        self.body = nil
    }

    @inline(__always)
    func work(count: Int, body: (Int) -> Void) {
        while true {
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= count { break }
            body(i)
        }
    }

    func workerLoop() {
        var seen = 0
        while true {
            var gen = generation.load(ordering: .acquiring)
            var spins = 0
            while gen == seen {
                spins += 1
                if spins < PoolCore.spinLimit {
                    spinPause()
                } else {
                    pthread_mutex_lock(&mutex)
                    sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    gen = generation.load(ordering: .sequentiallyConsistent)
                    while gen == seen {
                        pthread_cond_wait(&cond, &mutex)
                        gen = generation.load(ordering: .sequentiallyConsistent)
                    }
                    sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(&mutex)
                    break
                }
                gen = generation.load(ordering: .acquiring)
            }
            if gen < 0 { return }
            seen = gen
            if let body { work(count: count, body: body) }
            finished.wrappingAdd(1, ordering: .releasing)
        }
    }

    func shutdown() {
        generation.store(Int.min, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&cond)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
    }
}

private final class WorkerBox {
    let core: PoolCore
    let index: Int
    init(core: PoolCore, index: Int) { self.core = core; self.index = index }
}

/// A few no-op iterations between polls of a shared cache line.
@inline(__always)
private func spinPause() {
    // No portable `pause` intrinsic from Swift; an opaque atomic-free loop keeps the poll rate modest.
    for _ in 0..<8 { _ = spinSink.load(ordering: .relaxed) }
}

private let spinSink = Atomic<Int>(0)
