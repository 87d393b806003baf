import XCTest
import TensorCore
@testable import Kernels

/// Pseudo-random values in [-1, 1) from an LCG: the same inputs on every run.
func kernelTestRandom(_ n: Int, seed: UInt64) -> [Float] {
    var s = seed
    return (0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: s >> 11) % 2000) / 1000 - 1
    }
}

/// The SIMD/threaded attention and RMSNorm against their plain twins, and RoPE against its definition.
final class AttentionNormTests: XCTestCase {
    func random(_ n: Int, seed: UInt64) -> [Float] { kernelTestRandom(n, seed: seed) }

    func testCausalAttentionMatchesReference() {
        for (t, cached, hq, hkv, d) in [(1, 0, 4, 2, 32), (5, 7, 8, 2, 64), (33, 0, 4, 4, 16), (1, 100, 8, 2, 256),
                                         // blocked prefill path: GQA groups 4, 6, 8, 1; partial last blocks; a cache
                                         (70, 5, 8, 2, 256), (40, 0, 12, 2, 64), (100, 30, 16, 2, 32), (65, 0, 2, 2, 16)] {
            let n = cached + t
            let q = random(t * hq * d, seed: 1), k = random(n * hkv * d, seed: 2), v = random(n * hkv * d, seed: 3)
            var out = [Float](repeating: 0, count: t * hq * d)
            causalAttention(q: q, keys: k, values: v, out: &out, tokens: t, cached: cached, queryHeads: hq, kvHeads: hkv,
                            headDim: d, scale: 1 / Float(d).squareRoot(), pool: ThreadPool(threads: 2))
            let ref = causalAttentionReference(q: q, keys: k, values: v, tokens: t, cached: cached, queryHeads: hq,
                                               kvHeads: hkv, headDim: d, scale: 1 / Float(d).squareRoot())
            XCTAssertFalse(out.contains { $0.isNaN }, "T=\(t): NaN in the output")
            let err = zip(out, ref).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(err, 1e-5, "T=\(t) cached=\(cached) Hq=\(hq) Hkv=\(hkv) D=\(d)")
        }
    }

    /// The paged form against the same plain twin: keys and values cut into pages of 1, 7, 16 and 64 tokens.
    func testPagedAttentionMatchesReference() {
        // T = 1 with 1,300 keys: the decode path's flash-decoding splits (512 keys) merged across pages; with
        // 2,600 keys (6 splits ≥ 2 per thread) one work item takes a split of every KV head.
        for (t, cached, hq, hkv, d) in [(1, 100, 8, 2, 64), (70, 5, 8, 2, 32), (33, 40, 4, 4, 16), (1, 0, 4, 2, 32),
                                         (1, 1299, 16, 2, 32), (1, 1023, 6, 3, 16), (1, 2599, 8, 2, 32)] {
            let n = cached + t, row = hkv * d
            let q = random(t * hq * d, seed: 1), k = random(n * row, seed: 2), v = random(n * row, seed: 3)
            let ref = causalAttentionReference(q: q, keys: k, values: v, tokens: t, cached: cached, queryHeads: hq,
                                               kvHeads: hkv, headDim: d, scale: 1 / Float(d).squareRoot())
            for pt in [1, 7, 16, 64] {
                let pages = (n + pt - 1) / pt
                let kp = (0..<pages).map { p -> UnsafeMutablePointer<Float> in
                    let b = UnsafeMutablePointer<Float>.allocate(capacity: pt * row)
                    b.initialize(repeating: .nan, count: pt * row)   // rows past the end must never be read
                    for i in 0..<min(pt, n - p * pt) * row { b[i] = k[p * pt * row + i] }
                    return b
                }
                let vp = (0..<pages).map { p -> UnsafeMutablePointer<Float> in
                    let b = UnsafeMutablePointer<Float>.allocate(capacity: pt * row)
                    b.initialize(repeating: .nan, count: pt * row)
                    for i in 0..<min(pt, n - p * pt) * row { b[i] = v[p * pt * row + i] }
                    return b
                }
                defer { kp.forEach { $0.deallocate() }; vp.forEach { $0.deallocate() } }
                var out = [Float](repeating: 0, count: t * hq * d)
                q.withUnsafeBufferPointer { qb in out.withUnsafeMutableBufferPointer { ob in
                    causalAttention(q: qb.baseAddress!, pages: KVPages(keys: kp.map { UnsafePointer($0) }, values: vp.map { UnsafePointer($0) }, pageTokens: pt),
                                    out: ob.baseAddress!, tokens: t, cached: cached, queryHeads: hq, kvHeads: hkv, headDim: d,
                                    scale: 1 / Float(d).squareRoot(), pool: ThreadPool(threads: 2))
                } }
                XCTAssertFalse(out.contains { $0.isNaN }, "pages of \(pt): a NaN (a row past the end was read)")
                let err = zip(out, ref).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(err, 1e-5, "pages of \(pt): T=\(t) cached=\(cached) Hq=\(hq) Hkv=\(hkv) D=\(d)")
            }
        }
    }

    /// The blocked prefill gives each query row the same bits whatever work item it falls in: items grow with
    /// fewer threads (`perItem`), and a prompt read as one call or as two (the second with a cache) groups rows
    /// differently. GQA groups 4, 6 and 1, with tails that leave padding lanes.
    func testBlockedPrefillRowDoesNotDependOnItsWorkItem() {
        for (t, hq, hkv, d) in [(128, 8, 2, 64), (100, 12, 2, 32), (70, 2, 2, 16)] {
            let q = random(t * hq * d, seed: 11), k = random(t * hkv * d, seed: 12), v = random(t * hkv * d, seed: 13)
            func run(threads: Int, split: Int) -> [Float] {
                var out = [Float](repeating: 0, count: t * hq * d)   // [T, Hq, D]
                q.withUnsafeBufferPointer { qb in k.withUnsafeBufferPointer { kb in v.withUnsafeBufferPointer { vb in
                    out.withUnsafeMutableBufferPointer { ob in
                        let pages = KVPages(keys: [kb.baseAddress!], values: [vb.baseAddress!], pageTokens: t)
                        for (start, end) in [(0, split), (split, t)] where end > start {
                            causalAttention(q: qb.baseAddress! + start * hq * d, pages: pages, out: ob.baseAddress! + start * hq * d,
                                            tokens: end - start, cached: start, queryHeads: hq, kvHeads: hkv, headDim: d,
                                            scale: 1 / Float(d).squareRoot(), pool: ThreadPool(threads: threads))
                        }
                    }
                } } }
                return out
            }
            let whole = run(threads: 1, split: t).map(\.bitPattern)
            for (threads, split) in [(2, t), (7, t), (2, 64), (3, 96)] where t - split == 0 || (t - split) * hq / hkv >= 64 {
                XCTAssertEqual(run(threads: threads, split: split).map(\.bitPattern), whole, "T=\(t) Hq=\(hq) threads=\(threads) split=\(split)")
            }
        }
    }

    func testRMSNormMatchesReference() {
        let rows = 3, dim = 70
        let x = random(rows * dim, seed: 4), w = random(dim, seed: 5).map { 1 + $0 }
        var y = [Float](repeating: 0, count: rows * dim)
        rmsNormZeroCentred(x, onePlusWeight: w, &y, rows: rows, dim: dim, eps: 1e-6)
        let ref = rmsNormZeroCentredReference(x, onePlusWeight: w, rows: rows, dim: dim, eps: 1e-6)
        XCTAssertLessThanOrEqual(zip(y, ref).map { abs($0 - $1) }.max()!, 1e-6)
    }

    func testRoPERotatesOnlyTheRotarySliceInHalfPairs() {
        let d = 8, r = 4
        let rope = RotaryEmbedding(headDim: d, rotaryDim: r, theta: 10000)
        var x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        rope.apply(&x, tokens: 1, heads: 1, start: 3)
        // ω0 = 1, ω1 = 10000^(−2/4) = 0.01; angle = 3·ω; pairs (0,2) and (1,3).
        let a0: Float = 3, a1: Float = 0.03
        XCTAssertEqual(x[0], 1 * cosf(a0) - 3 * sinf(a0), accuracy: 1e-6)
        XCTAssertEqual(x[2], 3 * cosf(a0) + 1 * sinf(a0), accuracy: 1e-6)
        XCTAssertEqual(x[1], 2 * cosf(a1) - 4 * sinf(a1), accuracy: 1e-6)
        XCTAssertEqual(x[3], 4 * cosf(a1) + 2 * sinf(a1), accuracy: 1e-6)
        XCTAssertEqual(Array(x[4...]), [5, 6, 7, 8])
    }
}
