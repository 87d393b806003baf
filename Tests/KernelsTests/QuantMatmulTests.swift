import XCTest
import CKernels
import TensorCore
@testable import Kernels

/// Quantised matmul (every GGUF block format): the VNNI and AVX2 kernels against their plain twin on random
/// blocks with all-zero blocks (same integer dots, so only the f32 combination order differs), a row whose one
/// block has the largest f16 scale on its own (so that its huge result does not widen the tolerance of the
/// others), and the whole `matmul` against f32 math on the dequantised weights (the difference is the 8-bit
/// activation rounding).
final class QuantMatmulTests: XCTestCase {
    struct Rng {
        var state: UInt64
        mutating func byte() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        mutating func unit() -> Float { Float(byte()) / 127.5 - 1 }
    }

    static let kernels: [(WeightFormat, Int32)] = [(.q8_0, Int32(QK_Q8_0)), (.q4_0, Int32(QK_Q4_0)),
                                                   (.q4_K, Int32(QK_Q4_K)), (.q5_K, Int32(QK_Q5_K)), (.q6_K, Int32(QK_Q6_K)),
                                                   (.iq4_xs, Int32(QK_IQ4_XS)), (.q3_K, Int32(QK_Q3_K)),
                                                   (.q2_K, Int32(QK_Q2_K)), (.q4_1, Int32(QK_Q4_1)), (.q5_0, Int32(QK_Q5_0)),
                                                   (.q5_1, Int32(QK_Q5_1)), (.iq4_nl, Int32(QK_IQ4_NL))]

    /// Offsets of the f16 scale fields in a block (random bytes there could be inf/NaN).
    static func scaleFields(_ format: WeightFormat) -> [Int] {
        switch format {
        case .q8_0, .q4_0, .q5_0, .iq4_nl, .iq4_xs: [0]
        case .q6_K: [208]
        case .q3_K: [108]
        case .q2_K: [80, 82]
        default: [0, 2]   // q4_K, q5_K: d, dmin; q4_1, q5_1: d, m
        }
    }

    /// `rows` random rows of `k` elements in `format`; f16 scale fields set to small finite values, block 1 of
    /// each row all zero. With `hugeScale`, block 2 of each row takes the largest f16 scale (65504).
    static func randomWeight(_ format: WeightFormat, rows: Int, k: Int, seed: UInt64, hugeScale: Bool = false) -> WeightTensor {
        var rng = Rng(state: seed)
        let rowBytes = format.rowBytes(k)!, bb = format.blockBytes
        let buffer = OwnedBuffer(byteCount: rows * rowBytes)
        let p = buffer.pointer.bindMemory(to: UInt8.self, capacity: rows * rowBytes)
        let scaleFields = scaleFields(format)
        for r in 0..<rows {
            for b in 0..<(k / format.blockElements) {
                let base = r * rowBytes + b * bb
                for i in 0..<bb { p[base + i] = rng.byte() }
                for f in scaleFields {
                    let bits = hugeScale && b == 2 ? Float16(65504).bitPattern : Float16(rng.unit() * 0.02).bitPattern
                    p[base + f] = UInt8(bits & 0xFF); p[base + f + 1] = UInt8(bits >> 8)
                }
                if b == 1 { for i in 0..<bb { p[base + i] = 0 } }
            }
        }
        return WeightTensor(name: "w", format: format, shape: [rows, k], data: UnsafeRawPointer(buffer.pointer), owner: buffer)
    }

    func testVNNIAndAVX2KernelsEqualPlainTwin() throws {
        defer { qk_quant_force_path(-1) }
        let best = qk_quant_path()
        try XCTSkipIf(best == 0, "no SIMD quantised path on this CPU: nothing to pin against the plain twin")
        print("quantised kernel path: \(["plain", "AVX2", "AVX-512 VNNI"][Int(best)])")
        for path in stride(from: best, through: 1, by: -1) {
        qk_quant_force_path(path)
        for (format, code) in Self.kernels {
            for (rows, k, tokens) in [(13, 768, 1), (8, 1024, 5), (33, 512, 3), (6, 512, 13)] {
                let w = Self.randomWeight(format, rows: rows, k: k, seed: UInt64(rows * k))
                var rng = Rng(state: 7)
                let x = (0..<(tokens * k)).map { _ in rng.unit() }
                let actBytes = qk_act_bytes(code, k)
                var xq = [UInt8](repeating: 0, count: tokens * actBytes)
                var fast = [Float](repeating: 0, count: tokens * rows), plain = fast
                xq.withUnsafeMutableBytes { qk_quantize_act(code, x, k, tokens, $0.baseAddress!) }
                xq.withUnsafeBytes { q in
                    qk_qgemv(code, w.data, k, q.baseAddress!, tokens, &fast, rows, 0, rows)
                    qk_qgemv_ref(code, w.data, k, q.baseAddress!, tokens, &plain, rows, 0, rows)
                }
                for i in fast.indices {
                    XCTAssertEqual(fast[i], plain[i], accuracy: 1e-5 * max(1, abs(plain[i])), "path \(path) \(format) \(rows)×\(k) T=\(tokens) [\(i)]")
                }
            }
        }
        }
    }

    /// A token's outputs are the same bits whether it is alone in the call or one of an 8- or 4-token tile
    /// (prefill) beside others: what batch invariance on the ggml-layout kernels rests on. 21 tokens: two 8-token
    /// tiles (the second reads the second tile's activation sums), one 4-token tile and a single token; 77: the
    /// same again in a second 64-token block; k = 1280: the 1-token K-quant dots finish 4 blocks at a time, then
    /// the one left (1312 for the 32-element formats).
    func testTokenCountInvariant() throws {
        defer { qk_quant_force_path(-1) }
        let best = qk_quant_path()
        try XCTSkipIf(best == 0, "no SIMD quantised path on this CPU")
        for path in stride(from: best, through: 1, by: -1) {
            qk_quant_force_path(path)
            for (format, code) in Self.kernels {
                for tokens in [21, 77] {
                // 1312 = 41 32-element blocks: the 1-token legacy dots' short last group too.
                let rows = 9, k = format.blockElements == 32 ? 1312 : 1280
                let w = Self.randomWeight(format, rows: rows, k: k, seed: 5)
                var rng = Rng(state: 9)
                let x = (0..<(tokens * k)).map { _ in rng.unit() }
                let actBytes = qk_act_bytes(code, k)
                var xq = [UInt8](repeating: 0, count: tokens * actBytes)
                xq.withUnsafeMutableBytes { qk_quantize_act(code, x, k, tokens, $0.baseAddress!) }
                var all = [Float](repeating: 0, count: tokens * rows)
                xq.withUnsafeBytes { q in qk_qgemv(code, w.data, k, q.baseAddress!, tokens, &all, rows, 0, rows) }
                for t in 0..<tokens {
                    var one = [Float](repeating: 0, count: rows)
                    xq.withUnsafeBytes { q in qk_qgemv(code, w.data, k, q.baseAddress! + t * actBytes, 1, &one, rows, 0, rows) }
                    XCTAssertEqual(one.map(\.bitPattern), all[(t * rows)..<((t + 1) * rows)].map(\.bitPattern), "path \(path) \(format) token \(t) of \(tokens)")
                }
                }
            }
        }
    }

    /// `matmul` split into work items over 4 threads gives the bits of one call over all rows: each thread builds
    /// the 8-token tiles' activation sums in its own buffer (`tile_sums_buffer`), so a buffer shared or left
    /// stale between threads or calls shows here. Two matrices of different k alternate on the same pool, so a
    /// thread's buffer is regrown and reused across calls.
    func testThreadedMatmulEqualsOneCall() throws {
        let pool = ThreadPool(threads: 4)
        for (format, code) in Self.kernels {
            for (rows, k) in [(512, 512), (384, 1024)] {
                let tokens = 21
                let w = Self.randomWeight(format, rows: rows, k: k, seed: UInt64(k + rows))
                // Enough bytes that matmul splits the rows (quantizedMatmul: ≥ 256 KiB of row reads).
                XCTAssertGreaterThan(rows * w.rowBytes * ((tokens + 3) / 4), 256 * 1024)
                var rng = Rng(state: UInt64(k))
                let x = (0..<(tokens * k)).map { _ in rng.unit() }
                let threaded = matmul(x, w, tokens: tokens, pool: pool)
                let actBytes = qk_act_bytes(code, k)
                var xq = [UInt8](repeating: 0, count: tokens * actBytes)
                xq.withUnsafeMutableBytes { qk_quantize_act(code, x, k, tokens, $0.baseAddress!) }
                var one = [Float](repeating: 0, count: tokens * rows)
                xq.withUnsafeBytes { q in qk_qgemv(code, w.data, k, q.baseAddress!, tokens, &one, rows, 0, rows) }
                XCTAssertEqual(threaded.map(\.bitPattern), one.map(\.bitPattern), "\(format) \(rows)×\(k)")
            }
        }
    }

    /// Two threads multiplying different activations at the same time each get their own one-call result: the
    /// activation sums the 8-token tiles read are built per thread, and a buffer shared between threads would
    /// mix the two inputs' sums (the threaded test above cannot see that: its threads share one input).
    func testConcurrentCallsWithDifferentInputs() throws {
        final class Mismatches: @unchecked Sendable {
            private let lock = NSLock()
            private(set) var names: [String] = []
            func add(_ s: String) { lock.lock(); names.append(s); lock.unlock() }
        }
        let bad = Mismatches()
        for (format, code) in Self.kernels {
            let rows = 128, k = 1024, tokens = 21
            let w = Self.randomWeight(format, rows: rows, k: k, seed: 5)
            let inputs: [[UInt8]] = (0..<2).map { s in
                var rng = Rng(state: UInt64(100 + s))
                let x = (0..<(tokens * k)).map { _ in rng.unit() * Float(1 + 3 * s) }
                var xq = [UInt8](repeating: 0, count: tokens * qk_act_bytes(code, k))
                xq.withUnsafeMutableBytes { qk_quantize_act(code, x, k, tokens, $0.baseAddress!) }
                return xq
            }
            let run = { (xq: [UInt8]) -> [UInt32] in
                var y = [Float](repeating: 0, count: tokens * rows)
                xq.withUnsafeBytes { q in qk_qgemv(code, w.data, k, q.baseAddress!, tokens, &y, rows, 0, rows) }
                return y.map(\.bitPattern)
            }
            let expected = inputs.map(run)
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                for _ in 0..<40 where run(inputs[i]) != expected[i] { bad.add("\(format) input \(i)") }
            }
        }
        XCTAssertEqual(bad.names, [])
    }

    /// Rows whose only non-zero block has the largest f16 scale (65504): results near 1e6–1e9 must stay finite
    /// and agree with the twin to f32 rounding (one block, so no summation order to differ).
    func testLargestScaleBlockAlone() throws {
        defer { qk_quant_force_path(-1) }
        let best = qk_quant_path()
        try XCTSkipIf(best == 0, "no SIMD quantised path on this CPU: nothing to pin against the plain twin")
        for path in stride(from: best, through: 1, by: -1) {
            qk_quant_force_path(path)
            for (format, code) in Self.kernels {
                let rows = 6, k = 3 * format.blockElements * (format.blockElements == 32 ? 8 : 1), tokens = 2
                let w = Self.randomWeight(format, rows: rows, k: k, seed: 41, hugeScale: true)
                let p = UnsafeMutableRawPointer(mutating: w.data).bindMemory(to: UInt8.self, capacity: w.byteCount)
                for r in 0..<rows {
                    for b in 0..<(k / format.blockElements) where b != 2 {
                        for i in 0..<format.blockBytes { p[r * w.rowBytes + b * format.blockBytes + i] = 0 }
                    }
                }
                var rng = Rng(state: 8)
                let x = (0..<(tokens * k)).map { _ in rng.unit() }
                var xq = [UInt8](repeating: 0, count: tokens * qk_act_bytes(code, k))
                var fast = [Float](repeating: 0, count: tokens * rows), plain = fast
                xq.withUnsafeMutableBytes { qk_quantize_act(code, x, k, tokens, $0.baseAddress!) }
                xq.withUnsafeBytes { q in
                    qk_qgemv(code, w.data, k, q.baseAddress!, tokens, &fast, rows, 0, rows)
                    qk_qgemv_ref(code, w.data, k, q.baseAddress!, tokens, &plain, rows, 0, rows)
                }
                for i in fast.indices {
                    XCTAssertTrue(plain[i].isFinite, "\(format) [\(i)] \(plain[i])")
                    XCTAssertEqual(fast[i], plain[i], accuracy: 1e-6 * abs(plain[i]), "path \(path) \(format) [\(i)]")
                }
            }
        }
    }

    func testMatmulMatchesDequantisedF32() throws {
        for (format, _) in Self.kernels {
            let rows = 20, k = 512
            for tokens in [1, 70] {
                let w = Self.randomWeight(format, rows: rows, k: k, seed: 99)
                var rng = Rng(state: 3)
                let x = (0..<(tokens * k)).map { _ in rng.unit() }
                let got = matmul(x, w, tokens: tokens)
                let dense = WeightTensor.f32(w.toFloats(), shape: [rows, k])
                var ref = [Float](repeating: 0, count: tokens * rows)
                x.withUnsafeBufferPointer { matmulReference($0.baseAddress!, dense, &ref, tokens: tokens) }
                let wf = dense.toFloats()
                for t in 0..<tokens {
                    for o in 0..<rows {
                        // 8-bit activations: error ≤ Σ|w|·(max|x| of its block)/254 ≤ Σ|w|/254 here (|x| ≤ 1).
                        let bound = (0..<k).reduce(Float(0)) { $0 + abs(wf[o * k + $1]) } / 254 * 1.01 + 1e-3
                        XCTAssertEqual(got[t * rows + o], ref[t * rows + o], accuracy: bound, "\(format) T=\(tokens) row \(o)")
                    }
                }
            }
        }
    }
}
