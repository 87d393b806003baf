import Foundation

/// Runs data-parallel loops on a fixed set of threads. PLACEHOLDER: the persistent pthread pool replaces
/// this Dispatch-based version behind the same API.
public final class ThreadPool: @unchecked Sendable {
    /// The pool kernels use unless given another; `qwenkit --threads N` replaces it at startup.
    nonisolated(unsafe) public static var shared = ThreadPool(threads: ProcessInfo.processInfo.activeProcessorCount)

    public let threadCount: Int

    public init(threads: Int) {
        threadCount = max(1, threads)
    }

    /// Calls `body(i)` for every `i` in `0..<count`, spread over the pool's threads; returns when all are done.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || threadCount == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: count) { body($0) }
        }
    }
}
