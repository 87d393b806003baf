import XCTest
import Synchronization
import TensorCore

final class ThreadPoolTests: XCTestCase {
    /// Every index runs exactly once, for counts below, at and above the thread count, many calls in a row
    /// (the workers' spin/sleep hand-over must never lose or repeat a job).
    func testEveryIndexExactlyOnce() {
        for threads in [1, 2, 4] {
            let pool = ThreadPool(threads: threads)
            XCTAssertEqual(pool.threadCount, threads)
            for count in [0, 1, 2, 3, 7, 64, 1000] {
                for _ in 0..<50 {
                    let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
                    hits.initialize(repeating: 0, count: max(count, 1))
                    pool.parallelFor(count) { i in hits[i] += 1 }
                    for i in 0..<count { XCTAssertEqual(hits[i], 1, "threads \(threads) count \(count) index \(i)") }
                    hits.deallocate()
                }
            }
        }
    }

    /// After the workers have gone to sleep, a call still wakes them and completes.
    func testWakesAfterSleep() {
        let pool = ThreadPool(threads: 2)
        let total = Atomic<Int>(0)
        pool.parallelFor(4) { _ in total.wrappingAdd(1, ordering: .relaxed) }
        usleep(300_000)
        pool.parallelFor(4) { _ in total.wrappingAdd(1, ordering: .relaxed) }
        XCTAssertEqual(total.load(ordering: .relaxed), 8)
    }

    /// A nested call runs serially on its caller instead of deadlocking.
    func testNestedCallRunsSerially() {
        let pool = ThreadPool(threads: 2)
        let total = Atomic<Int>(0)
        pool.parallelFor(3) { _ in
            pool.parallelFor(5) { _ in total.wrappingAdd(1, ordering: .relaxed) }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 15)
    }

    /// Pools are torn down cleanly (workers joined) and can be created repeatedly.
    func testCreateAndDestroyManyPools() {
        for _ in 0..<20 {
            let pool = ThreadPool(threads: 3)
            let total = Atomic<Int>(0)
            pool.parallelFor(10) { _ in total.wrappingAdd(1, ordering: .relaxed) }
            XCTAssertEqual(total.load(ordering: .relaxed), 10)
        }
    }
}
