import Foundation
import LanguageModels
@testable import InferenceEngine
import XCTest

/// A `ScriptedModel` that counts forwards, so tests see when a token was emitted relative to the model, and
/// records each batched forward's rows (tokens per sequence), so tests see how the scheduler filled its steps.
final class CountingModel: LanguageModel, @unchecked Sendable {
    let inner: ScriptedModel
    let forwards = Counter()
    let delay: TimeInterval
    private let lock = NSLock()
    private var batchRows: [[Int]] = []
    init(_ script: [Int], context: Int = 64, delay: TimeInterval = 0) {
        inner = ScriptedModel(script, context: context)
        self.delay = delay
    }
    var vocabSize: Int { inner.vocabSize }
    var maxContextLength: Int { inner.maxContextLength }
    var eosTokenIds: [Int] { inner.eosTokenIds }
    func makeState() -> SequenceState { inner.makeState() }
    func forward(_ ids: [Int], state: inout SequenceState, allLogits: Bool) -> [Float] {
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        forwards.add()
        return inner.forward(ids, state: &state, allLogits: allLogits)
    }
    func forwardBatch(_ ids: [[Int]], states: inout [SequenceState]) -> [Float] {
        lock.lock(); batchRows.append(ids.map(\.count)); lock.unlock()
        var out: [Float] = []
        for i in ids.indices { out += forward(ids[i], state: &states[i], allLogits: false) }
        return out
    }
    var batches: [[Int]] { lock.lock(); defer { lock.unlock() }; return batchRows }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

final class SchedulerTests: XCTestCase {
    func request(_ prompt: [Int], max: Int = 10) -> GenerationRequest {
        var r = GenerationRequest(promptIDs: prompt)
        r.sampling = .greedy; r.maxTokens = max; r.stopTokenIDs = [15]
        return r
    }

    func collect(_ s: GenerationStream) async throws -> (ids: [Int], text: String, finish: FinishReason?) {
        var ids: [Int] = [], text = "", finish: FinishReason?
        for try await e in s {
            switch e {
            case .delta(let d): ids += d.tokenIDs; text += d.content
            case .finished(let f, _, _): finish = f
            }
        }
        return (ids, text, finish)
    }

    /// Steps with no decoding stream read 512 tokens, with a prefix cache the widest grid multiple up to 512
    /// that ends on every cache block; chunks below the grid are never widened (their bits would change).
    func testIdleChunkEndsOnPrefixBlocks() {
        for (chunk, block, want) in [(64, 256, 256), (64, 512, 512), (64, 1024, 512), (64, 320, 320), (64, 64, 64),
                                     (64, 576, 192), (16, 256, 16), (32, 512, 32)] {
            var o = SchedulerOptions()
            o.prefillChunk = chunk; o.prefixBlockTokens = block
            XCTAssertEqual(Scheduler.idleChunk(o), chunk == 64 ? 512 : chunk, "no cache: chunk \(chunk) block \(block)")
            o.prefixCacheBytes = 1 << 20
            XCTAssertEqual(Scheduler.idleChunk(o), want, "cache: chunk \(chunk) block \(block)")
        }
    }

    /// Prompts that wait together while no stream decodes are read in one forward (the idle step's budget is
    /// at least its chunk); beside decoding streams a step reads at most `maxBatchTokens` of prompts.
    func testIdleStepReadsWaitingPromptsTogether() async throws {
        // Every position answers 2 (never the stop token 15): each stream decodes its max tokens; a sequence's
        // forward takes 5 ms, so the first four still decode when the last two arrive.
        let model = CountingModel(Array(repeating: 2, count: 100), context: 256, delay: 0.005)
        let scheduler = Scheduler(model: model, options: SchedulerOptions(maxQueue: 8, maxRunning: 8)) { LetterDecoder() }
        let first = try (1...4).map { i in try scheduler.submit(request(Array(repeating: i, count: 40), max: 12)) }
        scheduler.start()   // the four wait before the first step
        var it = first[0].makeAsyncIterator()
        _ = try await it.next()   // they decode now; two more arrive
        let late = try (5...6).map { i in try scheduler.submit(request(Array(repeating: i, count: 40), max: 2)) }
        for s in late { _ = try await collect(s) }
        while try await it.next() != nil {}
        for s in first.dropFirst() { _ = try await collect(s) }
        await scheduler.shutdown(drainTimeout: .seconds(1))
        let steps = model.batches
        XCTAssertEqual(steps.first, [40, 40, 40, 40], "the first (idle) step reads all four prompts")
        // The late two are read beside decode rows, one 40-token chunk per step (budget 64: both would exceed it).
        let late40 = steps.dropFirst().filter { $0.contains(40) }
        XCTAssertEqual(late40.count, 2, "\(steps)")
        for step in late40 {
            XCTAssertEqual(step.filter { $0 == 40 }.count, 1, "\(steps)")
            XCTAssertTrue(step.contains(1), "read beside decoding streams: \(steps)")
        }
    }

    /// Each token leaves before the forward that reads it: after the first delta only the prefill has run.
    func testGeneratorEmitsEachTokenBeforeTheNextForward() throws {
        let model = CountingModel([0, 2, 3, 4, 15])
        var g = try Generator(model: model, request: request([0, 1]), decoder: LetterDecoder())
        guard case .delta(let d)? = g.next() else { return XCTFail("no delta") }
        XCTAssertEqual(d.tokenIDs, [2])
        XCTAssertEqual(model.forwards.value, 1)
        _ = g.next()
        XCTAssertEqual(model.forwards.value, 2)
    }

    /// Several requests at once give exactly what each gives alone through the Generator.
    func testConcurrentRequestsEqualSequentialGeneration() async throws {
        let model = CountingModel([0, 2, 3, 10, 11, 4, 5, 6, 7, 8, 9, 15])
        let scheduler = Scheduler(model: model, options: SchedulerOptions(maxQueue: 8, maxRunning: 3)) { LetterDecoder() }
        scheduler.start()
        let prompts = [[0], [0, 1], [0, 1, 2], [0, 1, 2, 3], [0, 1, 2, 3, 4]]
        var expected: [[Int]] = []
        for p in prompts {
            var g = try Generator(model: model.inner, request: request(p), decoder: LetterDecoder())
            var ids: [Int] = []
            while let e = g.next() { if case .delta(let d) = e { ids += d.tokenIDs } }
            expected.append(ids)
        }
        let streams = try prompts.map { try scheduler.submit(request($0)) }
        var got: [[Int]] = []
        for s in streams { got.append(try await collect(s).ids) }
        XCTAssertEqual(got, expected)
        await scheduler.shutdown(drainTimeout: .seconds(1))
    }

    /// Dropping a stream cancels its sequence: the engine stops forwarding it and frees the slot.
    func testCancelledStreamStopsWithinAStep() async throws {
        let model = CountingModel(Array(repeating: 3, count: 60), delay: 0.005)
        let scheduler = Scheduler(model: model, options: SchedulerOptions(maxQueue: 1, maxRunning: 1)) { LetterDecoder() }
        scheduler.start()
        do {
            let stream = try scheduler.submit(request([0], max: 50))
            var it = stream.makeAsyncIterator()
            _ = try await it.next()
            _ = try await it.next()
        }   // stream and iterator dropped here
        var waited = 0
        while scheduler.stats.running > 0 && waited < 200 { try await Task.sleep(for: .milliseconds(5)); waited += 1 }
        XCTAssertEqual(scheduler.stats.running, 0)
        let after = model.forwards.value
        XCTAssertLessThan(after, 10, "the cancelled sequence kept running")
        // The slot is free again.
        let r = try await collect(try scheduler.submit(request([0], max: 3)))
        XCTAssertEqual(r.ids.count, 3)
        await scheduler.shutdown(drainTimeout: .seconds(1))
    }

    func testQueueLimitAndValidationErrors() async throws {
        let model = CountingModel(Array(repeating: 3, count: 60), delay: 0.01)
        let scheduler = Scheduler(model: model, options: SchedulerOptions(maxQueue: 1, maxRunning: 1)) { LetterDecoder() }
        scheduler.start()
        let a = try scheduler.submit(request([0], max: 20))
        let b = try scheduler.submit(request([0], max: 2))
        XCTAssertThrowsError(try scheduler.submit(request([0], max: 2))) {
            guard case .queueFull? = $0 as? SchedulerError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try scheduler.submit(request([99]))) {
            XCTAssertEqual($0 as? GenerationError, .tokenOutOfRange(id: 99, vocabSize: 16))
        }
        XCTAssertThrowsError(try scheduler.submit(request([0], max: Int.max))) {
            guard case .promptTooLong? = $0 as? GenerationError else { return XCTFail("\($0)") }
        }
        _ = try await collect(a)
        _ = try await collect(b)
        await scheduler.shutdown(drainTimeout: .seconds(1))
        XCTAssertThrowsError(try scheduler.submit(request([0]))) { XCTAssertEqual($0 as? SchedulerError, .shuttingDown) }
    }

    /// Shutdown lets running work finish within the drain time, and cuts what is left after it.
    func testShutdownDrainsThenCuts() async throws {
        let model = CountingModel(Array(repeating: 3, count: 60), delay: 0.01)
        let scheduler = Scheduler(model: model, options: SchedulerOptions(maxQueue: 4, maxRunning: 2)) { LetterDecoder() }
        scheduler.start()
        let short = try scheduler.submit(request([0], max: 3))
        let long = try scheduler.submit(request([0], max: 60))
        await scheduler.shutdown(drainTimeout: .milliseconds(200))
        let s = try await collect(short)
        XCTAssertEqual(s.finish, .length)
        do {
            _ = try await collect(long)
            XCTFail("a request past the drain time should end with an error")
        } catch { XCTAssertEqual(error as? SchedulerError, .shuttingDown) }
    }
}
