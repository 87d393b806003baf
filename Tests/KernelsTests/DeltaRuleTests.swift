import XCTest
@testable import Kernels

/// Pins the chunked delta rule (prefill) to its recurrent twin (decode), ARCHITECTURE.md §3.2.1.
final class DeltaRuleTests: XCTestCase {
    /// Deterministic uniform values in [lo, hi) (SplitMix64), so a failure reproduces.
    struct Rand {
        var s: UInt64
        mutating func next(_ lo: Float, _ hi: Float) -> Float {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return lo + (hi - lo) * Float(z >> 40) / Float(1 << 24)
        }
    }

    /// Runs both kernels on the same random head inputs (q, k L2-normalised as in the model, q scaled).
    func compare(tokens t: Int, dk: Int, dv: Int, initialState: Bool, seed: UInt64, maxDecay: Float = 2) -> (maxAbs: Float, scale: Float, stateAbs: Float, stateScale: Float) {
        var r = Rand(s: seed)
        var q = (0..<t * dk).map { _ in r.next(-1, 1) }     // [T, dk]
        var k = (0..<t * dk).map { _ in r.next(-1, 1) }     // [T, dk]
        let v = (0..<t * dv).map { _ in r.next(-2, 2) }     // [T, dv]
        let g = (0..<t).map { _ in -r.next(0, maxDecay) }   // [T] log-decay ≤ 0 (α in (e^-maxDecay, 1])
        let beta = (0..<t).map { _ in r.next(0, 1) }        // [T]
        let s0 = (0..<dk * dv).map { _ in initialState ? r.next(-1, 1) : 0 } // [dk, dv]
        gdnL2Normalize(&q, count: t, dim: dk, stride: dk, scale: 1 / Float(dk).squareRoot())
        gdnL2Normalize(&k, count: t, dim: dk, stride: dk)
        var outR = [Float](repeating: 0, count: t * dv), outC = outR   // [T, dv]
        var sR = s0, sC = s0                                            // [dk, dv]
        func run(_ out: inout [Float], _ s: inout [Float], chunked: Bool) {
            q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                g.withUnsafeBufferPointer { gp in beta.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op in s.withUnsafeMutableBufferPointer { sp in
                        let st = GDNHeadStreams(q: qp.baseAddress!, qStride: dk, k: kp.baseAddress!, kStride: dk,
                                                v: vp.baseAddress!, vStride: dv, g: gp.baseAddress!, beta: bp.baseAddress!,
                                                gateStride: 1, out: op.baseAddress!, outStride: dv)
                        if chunked { gdnDeltaRuleChunked(st, state: sp.baseAddress!, tokens: t, keyDim: dk, valueDim: dv) }
                        else { gdnDeltaRuleRecurrent(st, state: sp.baseAddress!, tokens: t, keyDim: dk, valueDim: dv) }
                    } }
                } }
            } } }
        }
        run(&outR, &sR, chunked: false)
        run(&outC, &sC, chunked: true)
        let maxAbs = zip(outR, outC).map { abs($0 - $1) }.max() ?? 0
        let scale = outR.map(abs).max() ?? 0
        let stateAbs = zip(sR, sC).map { abs($0 - $1) }.max() ?? 0
        let stateScale = sR.map(abs).max() ?? 0
        return (maxAbs, scale, stateAbs, stateScale)
    }

    /// Tolerance: both forms are the same algebra in f32 with O(dk + chunk) length sums of terms of size
    /// ≤ the output scale, so they differ by a few hundred ulps at most: 1e-5 × max(1, |reference|max).
    func testChunkedMatchesRecurrent() {
        for t in [1, 2, 63, 64, 65, 128, 200] {
            for initial in [false, true] {
                for (dk, dv) in [(16, 32), (32, 16), (64, 128)] {   // 128: the SIMD-tiled products
                    let r = compare(tokens: t, dk: dk, dv: dv, initialState: initial, seed: UInt64(t * 131 + dk + (initial ? 7 : 0)))
                    XCTAssertGreaterThan(r.scale, 1e-3, "T=\(t): degenerate outputs")
                    XCTAssertLessThanOrEqual(r.maxAbs, 1e-5 * max(1, r.scale), "T=\(t) S0=\(initial) dk=\(dk): outputs differ by \(r.maxAbs) (scale \(r.scale))")
                    XCTAssertLessThanOrEqual(r.stateAbs, 1e-5 * max(1, r.stateScale), "T=\(t) S0=\(initial) dk=\(dk): states differ by \(r.stateAbs) (scale \(r.stateScale))")
                    if t == 200 && dk == 16 { print("DeltaRule T=\(t) S0=\(initial): max|Δo| \(r.maxAbs) (|o|max \(r.scale)), max|ΔS| \(r.stateAbs) (|S|max \(r.stateScale))") }
                }
            }
        }
    }

    /// Strong decay (g down to −40, cumulative γ ≈ −1300 per chunk): exp(γ_i) underflows to 0, but every
    /// factor is formed from γ differences, so nothing overflows and the forms still agree.
    func testChunkedStrongDecayStaysFinite() {
        for t in [65, 200] {
            let r = compare(tokens: t, dk: 16, dv: 16, initialState: true, seed: UInt64(t), maxDecay: 40)
            XCTAssertTrue(r.maxAbs.isFinite && r.stateAbs.isFinite, "T=\(t): non-finite difference")
            XCTAssertLessThanOrEqual(r.maxAbs, 1e-5 * max(1, r.scale), "T=\(t): outputs differ by \(r.maxAbs)")
            XCTAssertLessThanOrEqual(r.stateAbs, 1e-5 * max(1, r.stateScale), "T=\(t): states differ by \(r.stateAbs)")
        }
    }

    /// The tiled product against a plain triple loop, on shapes that hit the tiles and every remainder.
    func testMatMulAddMatchesNaive() {
        var r = Rand(s: 3)
        for (m, k, n) in [(7, 5, 130), (64, 128, 128), (4, 1, 64), (3, 9, 17), (9, 64, 192)] {
            let lda = k + 3, ldb = n + 1, ldc = n + 2
            let a = (0..<m * lda).map { _ in r.next(-1, 1) }     // [m, lda]
            let b = (0..<k * ldb).map { _ in r.next(-1, 1) }     // [k, ldb]
            var c = (0..<m * ldc).map { _ in r.next(-1, 1) }     // [m, ldc]
            var expect = c
            for i in 0..<m { for x in 0..<n { for y in 0..<k { expect[i * ldc + x] += a[i * lda + y] * b[y * ldb + x] } } }
            gdnMatMulAdd(a, lda: lda, b, ldb: ldb, &c, ldc: ldc, m: m, k: k, n: n)
            let d = zip(c, expect).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(d, 1e-5 * Float(k).squareRoot(), "m=\(m) k=\(k) n=\(n): max |Δ| \(d)")
        }
    }

    func testSoftplusMatchesTorch() {
        XCTAssertEqual(gdnSoftplus(25), 25)
        XCTAssertEqual(gdnSoftplus(0), log(2), accuracy: 1e-7)
        XCTAssertEqual(gdnSoftplus(-30), exp(-30), accuracy: 1e-18)
        XCTAssertEqual(gdnSoftplus(19.5), 19.5 + log1p(exp(-19.5)), accuracy: 1e-5)
    }

    func testCausalConvContinuesHistory() {
        // C = 2, K = 4, T = 5 in one call vs 2 + 1 + 2 calls through the history.
        let c = 2, k = 4, t = 5
        var r = Rand(s: 9)
        let p = (0..<t * c).map { _ in r.next(-1, 1) }   // [T, C]
        let w = (0..<c * k).map { _ in r.next(-1, 1) }   // [C, K]
        func conv(_ rows: ArraySlice<Float>, _ hist: inout [Float]) -> [Float] {
            let rows = Array(rows), n = rows.count / c
            var y = [Float](repeating: 0, count: rows.count)
            gdnCausalConv1dSiLU(rows, weight: w, history: &hist, &y, tokens: n, channels: c, kernel: k)
            return y
        }
        var h1 = [Float](repeating: 0, count: (k - 1) * c)
        let whole = conv(p[...], &h1)
        var h2 = [Float](repeating: 0, count: (k - 1) * c)
        let split = conv(p[0..<4], &h2) + conv(p[4..<6], &h2) + conv(p[6..<10], &h2)
        for i in 0..<whole.count { XCTAssertEqual(whole[i], split[i], accuracy: 1e-7) }
        XCTAssertEqual(h1, h2)
        XCTAssertEqual(h1, Array(p[4..<10]), "history = last K−1 pre-conv rows")
        // Direct check of token 0, channel 1: only tap K−1 sees a nonzero row.
        let pre = w[1 * k + 3] * p[1]
        XCTAssertEqual(whole[1], pre / (1 + exp(-pre)), accuracy: 1e-7)
    }
}
