import Foundation
import XCTest
@testable import Kernels
import TensorCore

/// The vectorised activations and the elementwise GDN kernels against their plain scalar twins.
final class ActivationTests: XCTestCase {
    struct Rand { var s: UInt64; mutating func next(_ lo: Float, _ hi: Float) -> Float {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return lo + (hi - lo) * Float(s >> 40) / Float(1 << 24)
    } }

    func testExp16WithinTwoUlpOfExpf() {
        var worst: Float = 0
        var x: Float = -87.3
        while x < 88.3 {
            let lanes = SIMD16<Float>((0..<16).map { x + Float($0) * 0.000_731 })
            let got = exp16(lanes)
            for i in 0..<16 where lanes[i] <= 88.3 {
                let want = expf(lanes[i])
                worst = max(worst, abs(got[i] - want) / want.ulp)
            }
            x += 0.0137
        }
        XCTAssertLessThanOrEqual(worst, 2, "exp16 is \(worst) ulp from expf")
        // NaN propagates as in expf (a blown-up activation must not turn into plausible numbers).
        let nan = SIMD16<Float>(repeating: .nan)
        for i in 0..<16 { XCTAssertTrue(exp16(nan)[i].isNaN && sigmoid16(nan)[i].isNaN && silu16(nan)[i].isNaN, "lane \(i)") }
        // Outside the clamp, SiLU and σ still come out as the scalar twins give them.
        let extreme = SIMD16<Float>([-1000, -200, -100, -90, -88, 88, 89, 90, 100, 1000, 0, -0.0, 1e-30, -1e-30, 20, -20])
        let s = silu16(extreme), g = sigmoid16(extreme)
        for i in 0..<16 {
            XCTAssertEqual(s[i], silu(extreme[i]), accuracy: max(1e-30, abs(silu(extreme[i])) * 3e-7), "silu(\(extreme[i]))")
            XCTAssertEqual(g[i], sigmoid(extreme[i]), accuracy: 3e-7, "sigmoid(\(extreme[i]))")
        }
    }

    func testSiluMulAndMulSigmoidMatchScalar() {
        var r = Rand(s: 3)
        let n = 1000 + 7
        let g = (0..<n).map { _ in r.next(-12, 12) }, u = (0..<n).map { _ in r.next(-3, 3) }
        var fast = [Float](repeating: 0, count: n), plain = fast
        siluMul(g, u, &fast, n)
        siluMulReference(g, u, &plain, n)
        for i in 0..<n { XCTAssertEqual(fast[i], plain[i], accuracy: abs(plain[i]) * 1e-6 + 1e-30, "i=\(i)") }
        var inPlace = g   // out = gate, as SwiGLU uses it
        inPlace.withUnsafeMutableBufferPointer { siluMul($0.baseAddress!, u, $0.baseAddress!, n) }
        XCTAssertEqual(inPlace, fast)
        var x = u
        mulSigmoid(&x, gate: g, n)
        for i in 0..<n { XCTAssertEqual(x[i], u[i] * sigmoid(g[i]), accuracy: abs(x[i]) * 1e-6 + 1e-30, "i=\(i)") }
    }

    /// Split over the pool (T·C past the threshold), channels not a multiple of 16, history continued.
    func testConvMatchesReference() {
        let pool = ThreadPool(threads: 2)
        var r = Rand(s: 11)
        for (t, c, k) in [(1, 100, 4), (2, 37, 4), (400, 100, 4), (333, 130, 3)] {
            let p = (0..<t * c).map { _ in r.next(-2, 2) }        // [T, C]
            let w = (0..<c * k).map { _ in r.next(-1, 1) }        // [C, K]
            let h0 = (0..<(k - 1) * c).map { _ in r.next(-1, 1) } // [K−1, C]
            var hFast = h0, hPlain = h0
            var yFast = [Float](repeating: 0, count: t * c), yPlain = yFast
            gdnCausalConv1dSiLU(p, weight: w, history: &hFast, &yFast, tokens: t, channels: c, kernel: k, pool: pool)
            gdnCausalConv1dSiLUReference(p, weight: w, history: &hPlain, &yPlain, tokens: t, channels: c, kernel: k)
            XCTAssertEqual(hFast, hPlain, "history T=\(t) C=\(c)")
            for i in 0..<t * c {
                XCTAssertEqual(yFast[i], yPlain[i], accuracy: abs(yPlain[i]) * 1e-6 + 1e-7, "T=\(t) C=\(c) i=\(i)")
            }
        }
    }

    func testGatedRMSNormMatchesReference() {
        let pool = ThreadPool(threads: 2)
        var r = Rand(s: 5)
        for (rows, dim) in [(1, 128), (3, 40), (700, 128)] {
            let o = (0..<rows * dim).map { _ in r.next(-2, 2) }, z = (0..<rows * dim).map { _ in r.next(-6, 6) }
            let w = (0..<dim).map { _ in r.next(0.5, 1.5) }
            var fast = [Float](repeating: 0, count: rows * dim), plain = fast
            gdnGatedRMSNorm(o, gate: z, weight: w, &fast, rows: rows, dim: dim, eps: 1e-6, pool: pool)
            gdnGatedRMSNormReference(o, gate: z, weight: w, &plain, rows: rows, dim: dim, eps: 1e-6)
            for i in 0..<rows * dim {
                XCTAssertEqual(fast[i], plain[i], accuracy: abs(plain[i]) * 2e-6 + 1e-7, "rows=\(rows) dim=\(dim) i=\(i)")
            }
        }
    }
}
