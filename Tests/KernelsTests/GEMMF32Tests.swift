import XCTest
import CKernels
@testable import Kernels

/// The AVX-512 / AVX2 f32 product of the prefill paths (`qk_gemm_f32_add`) against its plain twin, bit for bit, on
/// shapes that hit the 6 × 64 tiles and every row and column tail; and the property the chunk- and
/// batch-invariance guarantees rest on: an element of C is the same whatever the shape of the call it is in.
final class GEMMF32Tests: XCTestCase {
    func random(_ n: Int, seed: UInt64) -> [Float] { kernelTestRandom(n, seed: seed) }

    /// Whether the C kernel runs here (it returns 0 where the caller's own loop must run).
    static let hasKernel: Bool = {
        var c: [Float] = [0]
        return qk_gemm_f32_add([1], 1, [1], 1, &c, 1, 1, 1, 1) != 0
    }()

    func testKernelEqualsTwinBitForBit() throws {
        try XCTSkipIf(!Self.hasKernel, "no AVX-512 or AVX2: gdnMatMulAdd runs its Swift loops here")
        for (m, k, n) in [(64, 256, 64), (7, 5, 130), (6, 1, 16), (13, 64, 192), (1, 256, 256), (64, 64, 4), (5, 3, 1)] {
            let lda = k + 3, ldb = n + 5, ldc = n + 2
            let a = random(m * lda, seed: 1), b = random(k * ldb, seed: 2)   // [m, lda], [k, ldb]
            var c = random(m * ldc, seed: 3), ref = c                        // [m, ldc]
            XCTAssertEqual(qk_gemm_f32_add(a, lda, b, ldb, &c, ldc, m, k, n), 1)
            qk_gemm_f32_add_ref(a, lda, b, ldb, &ref, ldc, m, k, n)
            XCTAssertEqual(c.map(\.bitPattern), ref.map(\.bitPattern), "m=\(m) k=\(k) n=\(n)")
        }
    }

    /// A stored transposed: the kernel equals its twin bit for bit, and both equal the row-major product of the
    /// same matrix (only where the scalar is read from differs).
    func testTransposedAEqualsTwinAndRowMajor() throws {
        for (m, k, n) in [(64, 64, 256), (12, 37, 256), (7, 5, 130), (1, 1, 16), (13, 64, 200)] {
            let lda = m + 4, ldb = n + 5, ldc = n + 2
            let at = random(k * lda, seed: 6), b = random(k * ldb, seed: 7)   // [k, lda] = Aᵀ, [k, ldb]
            var a = [Float](repeating: 0, count: m * k)                       // [m, k]
            for r in 0..<m { for y in 0..<k { a[r * k + y] = at[y * lda + r] } }
            var c = random(m * ldc, seed: 8), ref = c, rowMajor = c           // [m, ldc]
            qk_gemm_f32_add_at_ref(at, lda, b, ldb, &ref, ldc, m, k, n)
            qk_gemm_f32_add_ref(a, k, b, ldb, &rowMajor, ldc, m, k, n)
            XCTAssertEqual(ref.map(\.bitPattern), rowMajor.map(\.bitPattern), "m=\(m) k=\(k) n=\(n): twin as row-major A")
            guard Self.hasKernel else { continue }   // the kernel itself needs AVX-512 or AVX2
            XCTAssertEqual(qk_gemm_f32_add_at(at, lda, b, ldb, &c, ldc, m, k, n), 1)
            XCTAssertEqual(c.map(\.bitPattern), ref.map(\.bitPattern), "m=\(m) k=\(k) n=\(n)")
        }
    }

    /// One call over [13, 150] against the same product cut into single rows and into 20-column slices.
    func testElementDoesNotDependOnTheCallShape() {
        let (m, k, n) = (13, 40, 150)
        let a = random(m * k, seed: 4), b = random(k * n, seed: 5)   // [m, k], [k, n]
        var whole = [Float](repeating: 0.5, count: m * n), rows = whole, cols = whole
        gdnMatMulAdd(a, lda: k, b, ldb: n, &whole, ldc: n, m: m, k: k, n: n)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
            rows.withUnsafeMutableBufferPointer { cp in
                for r in 0..<m { gdnMatMulAdd(ap.baseAddress! + r * k, lda: k, bp.baseAddress!, ldb: n, cp.baseAddress! + r * n, ldc: n, m: 1, k: k, n: n) }
            }
            cols.withUnsafeMutableBufferPointer { cp in
                for x in stride(from: 0, to: n, by: 20) {
                    gdnMatMulAdd(ap.baseAddress!, lda: k, bp.baseAddress! + x, ldb: n, cp.baseAddress! + x, ldc: n, m: m, k: k, n: min(20, n - x))
                }
            }
        } }
        if Self.hasKernel {
            XCTAssertEqual(rows.map(\.bitPattern), whole.map(\.bitPattern), "row by row")
            XCTAssertEqual(cols.map(\.bitPattern), whole.map(\.bitPattern), "20-column slices")
        } else {   // the Swift fallback rounds its tails in another order: the same sums within rounding
            XCTAssertLessThanOrEqual(zip(rows, whole).map { abs($0 - $1) }.max()!, 1e-5)
            XCTAssertLessThanOrEqual(zip(cols, whole).map { abs($0 - $1) }.max()!, 1e-5)
        }
    }
}
