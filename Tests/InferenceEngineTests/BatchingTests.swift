import Foundation
import LanguageModels
import TensorCore
@testable import InferenceEngine
import XCTest

/// The scheduler's guarantees on the real fixture models: a request gives bit-identical tokens and logprobs
/// alone, batched beside others, or served from the prefix cache, and the same as the CLI's Generator.
final class BatchingTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    struct Result: Equatable {
        var ids: [Int] = []
        var logprobs: [TokenLogprob] = []
        var usage: Usage?
    }

    func model(_ name: String, kvType: KVType = .f32) throws -> Qwen35Model {
        try Qwen35Model(directory: Self.fixtures.appendingPathComponent("models/\(name)"), kvType: kvType)
    }

    func request(_ prompt: [Int], max: Int = 12, temperature: Float = 0, seed: UInt64 = 0) -> GenerationRequest {
        var r = GenerationRequest(promptIDs: prompt)
        r.sampling = .greedy
        r.sampling.temperature = temperature
        r.sampling.seed = seed
        r.maxTokens = max
        r.topLogprobs = 3
        return r
    }

    func collect(_ s: GenerationStream) async throws -> Result {
        var r = Result()
        for try await e in s {
            switch e {
            case .delta(let d): r.ids += d.tokenIDs; r.logprobs += d.logprobs
            case .finished(_, let u, _): r.usage = u
            }
        }
        return r
    }

    func prompt(_ n: Int, salt: Int, vocab: Int) -> [Int] { (0..<n).map { ($0 * 31 + salt * 7 + 1) % (vocab - 20) } }

    func scheduler(_ m: Qwen35Model, running: Int = 8, cache: Int = 0, batchTokens: Int = 64, block: Int = 64) -> Scheduler {
        var o = SchedulerOptions(maxQueue: 32, maxRunning: running)
        o.prefixCacheBytes = cache
        o.prefixBlockTokens = block
        o.maxBatchTokens = batchTokens
        let s = Scheduler(model: m, options: o) { NullDecoder() }
        s.start()
        return s
    }

    func testBatchedEqualsAloneEqualsGenerator() async throws {
        for (fixture, kvType) in [("qwen35-dense-tiny", KVType.f32), ("qwen35-moe-tiny", .f32), ("qwen35-dense-tiny", .q8_0)] {
            let m = try model(fixture, kvType: kvType), name = "\(fixture) \(kvType) KV"
            let requests = [request(prompt(150, salt: 1, vocab: m.vocabSize)),
                            request(prompt(7, salt: 2, vocab: m.vocabSize), temperature: 0.9, seed: 11),
                            request(prompt(70, salt: 3, vocab: m.vocabSize), max: 20),
                            request(prompt(64, salt: 4, vocab: m.vocabSize), temperature: 1.2, seed: 5)]
            // Alone, one at a time: no stream decodes while a prompt is read, so prompts go in wide chunks
            // (512); batched below they go in grid chunks beside decode rows.
            let one = scheduler(m, running: 1)
            var alone: [Result] = []
            for r in requests { alone.append(try await collect(try one.submit(r))) }
            await one.shutdown(drainTimeout: .seconds(1))
            // The CLI's generator.
            for (i, r) in requests.enumerated() {
                var g = try Generator(model: m, request: r, decoder: NullDecoder())
                var got = Result()
                while let e = g.next() {
                    if case .delta(let d) = e { got.ids += d.tokenIDs; got.logprobs += d.logprobs }
                    if case .finished(_, let u, _) = e { got.usage = u }
                }
                XCTAssertEqual(got.ids, alone[i].ids, "\(name) request \(i): generator vs scheduler")
                XCTAssertEqual(got.logprobs, alone[i].logprobs, "\(name) request \(i): generator vs scheduler logprobs")
            }
            // All at once, in two orders, with a small prompt budget so prompts are read beside decode rows.
            for order in [[0, 1, 2, 3], [3, 2, 1, 0]] {
                let many = scheduler(m, running: 4, batchTokens: 8)
                let streams = try order.map { try many.submit(requests[$0]) }
                for (k, s) in streams.enumerated() {
                    let got = try await collect(s)
                    XCTAssertEqual(got.ids, alone[order[k]].ids, "\(name) request \(order[k]) batched in \(order)")
                    XCTAssertEqual(got.logprobs, alone[order[k]].logprobs, "\(name) request \(order[k]) logprobs batched")
                }
                await many.shutdown(drainTimeout: .seconds(1))
            }
        }
    }

    func testCachedEqualsFresh() async throws {
        // q8_0: its 34-byte blocks are what a shared, partly filled page copies when a cached prefix is extended.
        for (fixture, kvType) in [("qwen35-dense-tiny", KVType.f32), ("qwen35-moe-tiny-bf16", .f32), ("qwen35-dense-tiny", .q8_0)] {
            let m = try model(fixture, kvType: kvType), name = "\(fixture) \(kvType) KV"
            let base = prompt(200, salt: 9, vocab: m.vocabSize)
            let sameStart = Array(base.prefix(140)) + prompt(30, salt: 5, vocab: m.vocabSize)
            // Fresh answers, each on a scheduler without a cache.
            var fresh: [Result] = []
            for p in [base, sameStart, base] {
                let s = scheduler(m, running: 1)
                fresh.append(try await collect(try s.submit(request(p))))
                await s.shutdown(drainTimeout: .seconds(1))
            }
            // Blocks of 64 (prompts read in 64-token chunks) and of 128 (idle steps read 128 at once).
            for (block, cachedTokens) in [(64, [128, 192]), (128, [128, 128])] {
                let cached = scheduler(m, cache: 64 << 20, block: block)
                let first = try await collect(try cached.submit(request(base)))
                let second = try await collect(try cached.submit(request(sameStart)))
                let third = try await collect(try cached.submit(request(base)))
                XCTAssertEqual(first.usage?.cachedTokens, 0)
                XCTAssertEqual(second.usage?.cachedTokens, cachedTokens[0], "\(name): the whole blocks the prompts share")
                XCTAssertEqual(third.usage?.cachedTokens, cachedTokens[1], "\(name): every whole block before the last token")
                for (got, want) in zip([first, second, third], fresh) {
                    XCTAssertEqual(got.ids, want.ids, "\(name) block \(block): cached vs fresh ids")
                    XCTAssertEqual(got.logprobs, want.logprobs, "\(name) block \(block): cached vs fresh logprobs, bit for bit")
                }
                let stats = cached.stats
                XCTAssertEqual(stats.cacheHits, 2)
                XCTAssertGreaterThan(stats.cacheBytes, 0)
                await cached.shutdown(drainTimeout: .seconds(1))
            }
        }
    }

    /// Under a tiny budget the cache evicts least recently used blocks and keeps serving correctly.
    func testCacheEvictsUnderItsBudget() async throws {
        let m = try model("qwen35-dense-tiny")
        let s = scheduler(m, cache: 200_000)
        for salt in 0..<4 {
            let p = prompt(150, salt: salt, vocab: m.vocabSize)
            let r = try await collect(try s.submit(request(p, max: 2)))
            XCTAssertEqual(r.ids.count, 2)
        }
        XCTAssertLessThanOrEqual(s.stats.cacheBytes, 200_000)
        await s.shutdown(drainTimeout: .seconds(1))
    }
}
