import Foundation
import Kernels
import TensorCore

/// Decode attention at depth, on bench-0.8b's geometry (8 query heads over 2 KV heads of 256, 64-token pages):
/// one new query against `depth` cached keys, cycling through 6 layers' caches so that, as in a real decode
/// step, the KV is read from DRAM and not from the last call's L3. Reports ms per layer call and the KV bytes
/// streamed per second (the floor is the DRAM probe).
struct AttentionBench {
    let pool: ThreadPool
    let queryHeads = 8, kvHeads = 2, headDim = 256, pageTokens = 64, layers = 6

    /// `count` layers' caches of `depth` positions, filled with small values of the type (the buffers own the pages).
    func caches(depth: Int, type: KVType, count: Int) -> ([OwnedBuffer], [KVPages]) {
        let rowBytes = kvHeads * type.bytes(elements: headDim)
        let pages = (depth + pageTokens - 1) / pageTokens
        let pageBytes = pageTokens * rowBytes
        // One buffer per layer: K pages then V pages.
        let buffers = (0..<count).map { _ in OwnedBuffer(byteCount: 2 * pages * pageBytes) }
        var row = [Float](repeating: 0, count: kvHeads * headDim)
        for (l, b) in buffers.enumerated() {
            for t in 0..<(2 * pages * pageTokens) {
                for i in 0..<row.count { row[i] = Float((t &* 31 &+ i &* 7 &+ l) % 97) / 97 - 0.5 }
                type.encode(row, into: b.pointer + t * rowBytes, count: row.count)
            }
        }
        let caches = buffers.map { b in
            KVPages(keys: (0..<pages).map { UnsafeRawPointer(b.pointer + $0 * pageBytes) },
                    values: (0..<pages).map { UnsafeRawPointer(b.pointer + (pages + $0) * pageBytes) },
                    pageTokens: pageTokens, type: type)
        }
        return (buffers, caches)
    }

    /// Prefill attention: one 64-token chunk whose queries sit at `depth − 64 ..< depth` (the blocked
    /// online-softmax path). (ms per chunk, GFLOP/s counting 4 flops per query-key-dimension: Q·K and P·V.)
    func prefill(depth: Int, type: KVType) -> (Double, Double) {
        let tokens = 64
        let (buffers, caches) = caches(depth: depth, type: type, count: 1)
        let q = (0..<(tokens * queryHeads * headDim)).map { Float($0 % 13) / 13 - 0.5 }  // [64, Hq, D]
        var out = [Float](repeating: 0, count: tokens * queryHeads * headDim)          // [64, Hq, D]
        var best = Double.infinity
        q.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { op in
            for _ in 0..<4 {
                let t0 = benchNow()
                causalAttention(q: qp.baseAddress!, pages: caches[0], out: op.baseAddress!, tokens: tokens,
                                cached: depth - tokens, queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim,
                                scale: 1 / Float(headDim).squareRoot(), pool: pool)
                best = min(best, benchNow() - t0)
            }
        } }
        sink(out[0])
        withExtendedLifetime(buffers) {}
        let pairs = Double(tokens) * Double(depth - tokens) + Double(tokens * (tokens + 1) / 2)   // query-key pairs
        return (best * 1e3, 4 * pairs * Double(queryHeads * headDim) / best / 1e9)
    }

    /// (ms per layer call, GB/s of K+V read).
    func run(depth: Int, type: KVType) -> (Double, Double) {
        let rowBytes = kvHeads * type.bytes(elements: headDim)
        let (buffers, caches) = caches(depth: depth, type: type, count: layers)
        let q = (0..<(queryHeads * headDim)).map { Float($0 % 13) / 13 - 0.5 }  // [1, Hq, D]
        var out = [Float](repeating: 0, count: queryHeads * headDim)           // [1, Hq, D]
        var best = Double.infinity
        q.withUnsafeBufferPointer { qp in out.withUnsafeMutableBufferPointer { op in
            for round in 0..<6 {
                let t0 = benchNow()
                for c in caches {
                    causalAttention(q: qp.baseAddress!, pages: c, out: op.baseAddress!, tokens: 1, cached: depth - 1,
                                    queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim,
                                    scale: 1 / Float(headDim).squareRoot(), pool: pool)
                }
                if round > 0 { best = min(best, (benchNow() - t0) / Double(layers)) }
            }
        } }
        sink(out[0])
        withExtendedLifetime(buffers) {} // the pages are raw pointers into these: keep them alive to here
        return (best * 1e3, Double(2 * depth * rowBytes) / best / 1e9)
    }
}
