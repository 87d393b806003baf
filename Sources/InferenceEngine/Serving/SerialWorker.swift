import Foundation

/// A thread of its own for short CPU work requested from async code (rendering a chat template, tokenizing a
/// prompt), so that it never runs on the cooperative pool or an event loop. Jobs run one at a time, in order.
public final class SerialWorker: @unchecked Sendable {
    private let cond = NSCondition()
    private var jobs: [() -> Void] = []

    public init(name: String) {
        let t = Thread { [cond] in
            while true {
                cond.lock()
                while self.jobs.isEmpty { cond.wait() }
                let job = self.jobs.removeFirst()
                cond.unlock()
                job()
            }
        }
        t.name = name
        t.stackSize = 16 << 20   // deep templates recurse
        t.start()
    }

    /// Runs `body` on the worker thread and returns its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, Error>) in
            cond.lock()
            jobs.append { c.resume(with: Result { try body() }) }
            cond.signal()
            cond.unlock()
        }
    }
}
