import XCTest
import CKernels
import TensorCore
@testable import Kernels

/// Pins the SIMD / threaded `matmul` to its scalar twin `matmulReference` for every weight dtype, on shapes that
/// hit every tail (sizes not multiples of 16 / 32 / 64, token counts on both sides of the GEMV/GEMM switch).
/// Both sides accumulate in f32 from identical widened weights, so they differ only by summation order:
/// |y − ref| ≤ 1e-5 · Σ|x·w| (the condition-number-aware bound; ~100 ulps of the absolute sum).
final class MatmulTests: XCTestCase {
    struct Rng {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
        }
    }

    static func weight(_ values: [Float], shape: [Int], dtype: DType) -> WeightTensor {
        switch dtype {
        case .bf16: return .bf16(values, shape: shape, name: "w")
        case .f16:
            let buffer = OwnedBuffer(byteCount: values.count * 2)
            let p = buffer.pointer.bindMemory(to: UInt16.self, capacity: values.count)
            for (i, v) in values.enumerated() { p[i] = Float16(v).bitPattern }
            return WeightTensor(name: "w", dtype: .f16, shape: shape, data: UnsafeRawPointer(buffer.pointer), owner: buffer)
        default: return .f32(values, shape: shape, name: "w")
        }
    }

    func check(out n: Int, in k: Int, tokens: Int, dtype: DType, pool: ThreadPool, seed: UInt64) {
        var rng = Rng(state: seed)
        let x = (0..<(tokens * k)).map { _ in rng.next() }           // [T, in]
        let w = Self.weight((0..<(n * k)).map { _ in rng.next() }, shape: [n, k], dtype: dtype) // [out, in]
        let y = matmul(x, w, tokens: tokens, pool: pool)             // [T, out]
        var ref = [Float](repeating: 0, count: tokens * n)           // [T, out]
        x.withUnsafeBufferPointer { xp in
            ref.withUnsafeMutableBufferPointer { matmulReference(xp.baseAddress!, w, $0.baseAddress!, tokens: tokens) }
        }
        var worst: Float = 0
        for t in 0..<tokens {
            for o in 0..<n {
                var absSum: Float = 0
                for i in 0..<k { absSum += abs(x[t * k + i] * w.scalar(o * k + i)) }
                let err = abs(y[t * n + o] - ref[t * n + o]) / max(absSum, 1e-30)
                worst = max(worst, err)
            }
        }
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(dtype) out=\(n) in=\(k) T=\(tokens): relative error \(worst)")
    }

    let shapes: [(out: Int, in: Int)] = [(1, 1), (7, 5), (33, 17), (64, 64), (97, 130), (130, 257), (45, 515)]

    func testMatchesReferenceAllDtypesAllTokenCounts() {
        let pool = ThreadPool(threads: 3)
        var seed: UInt64 = 1
        for dtype in [DType.bf16, .f16, .f32] {
            for shape in shapes {
                for tokens in [1, 2, 3, 4, 5, 9, 64, 65, 200] {
                    seed += 1
                    check(out: shape.out, in: shape.in, tokens: tokens, dtype: dtype, pool: pool, seed: seed)
                }
            }
        }
    }

    /// Large enough that the work is split across threads (GEMV ≥ 256 KiB of weights, GEMM ≥ 4 MFLOP).
    func testThreadedSplitMatchesReference() {
        for threads in [1, 2, 5] {
            let pool = ThreadPool(threads: threads)
            check(out: 1037, in: 300, tokens: 1, dtype: .bf16, pool: pool, seed: 99)
            check(out: 1037, in: 300, tokens: 3, dtype: .f32, pool: pool, seed: 98)
            check(out: 301, in: 129, tokens: 70, dtype: .bf16, pool: pool, seed: 97)
            check(out: 200, in: 300, tokens: 33, dtype: .f16, pool: pool, seed: 96)
        }
    }

    /// The portable C path (CPUs without AVX-512) against the same twin.
    func testPortablePathMatchesReference() {
        qk_force_portable(1)
        defer { qk_force_portable(0) }
        let pool = ThreadPool(threads: 2)
        for dtype in [DType.bf16, .f16, .f32] {
            for tokens in [1, 3, 70] {
                check(out: 45, in: 515, tokens: tokens, dtype: dtype, pool: pool, seed: 7)
                check(out: 33, in: 17, tokens: tokens, dtype: dtype, pool: pool, seed: 8)
            }
        }
    }

    /// The AVX2 path (CPUs without AVX-512) against the same twin, where the CPU has AVX2; on an AVX2-only CPU
    /// the tests above already run it, this pins it on AVX-512 machines too.
    func testAVX2PathMatchesReference() throws {
        qk_matmul_force_level(1)
        defer { qk_matmul_force_level(-1) }
        try XCTSkipIf(qk_matmul_level() != 1, "no AVX2 + FMA + F16C on this CPU")
        let pool = ThreadPool(threads: 2)
        for dtype in [DType.bf16, .f16, .f32] {
            for tokens in [1, 2, 3, 5, 7, 70] {
                for shape in shapes { check(out: shape.out, in: shape.in, tokens: tokens, dtype: dtype, pool: pool, seed: 11) }
            }
        }
        check(out: 1037, in: 300, tokens: 1, dtype: .bf16, pool: pool, seed: 12)
        check(out: 301, in: 129, tokens: 70, dtype: .bf16, pool: pool, seed: 13)
    }

    func testZeroTokensWritesNothing() {
        let w = WeightTensor.f32([1, 2, 3, 4], shape: [2, 2])
        XCTAssertEqual(matmul([], w, tokens: 0), [])
    }

    func testEmbeddingLookupAllDtypes() {
        var rng = Rng(state: 5)
        let values = (0..<(11 * 37)).map { _ in rng.next() } // [V, H]
        for dtype in [DType.bf16, .f16, .f32] {
            let table = Self.weight(values, shape: [11, 37], dtype: dtype)
            let ids = [3, 0, 10, 3]
            let out = embeddingLookup(table, ids: ids) // [T, H]
            XCTAssertEqual(out.count, ids.count * 37)
            for (t, id) in ids.enumerated() {
                for i in 0..<37 { XCTAssertEqual(out[t * 37 + i], table.scalar(id * 37 + i), "\(dtype) t=\(t) i=\(i)") }
            }
        }
        // The bf16 path must widen exactly (bf16 → f32 is lossless).
        let exact = WeightTensor.bf16([1.5, -2.25], shape: [1, 2])
        XCTAssertEqual(embeddingLookup(exact, ids: [0]), [1.5, -2.25])
    }
}
