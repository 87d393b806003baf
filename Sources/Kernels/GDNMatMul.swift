import CKernels

// MARK: - Gated DeltaNet: small dense products of the chunked delta rule (ARCHITECTURE.md §3.2.1)

/// `C[m, n] += A[m, k] · B[k, n]` for the per-chunk products of the chunked delta rule (`K S₀`, `Q S₀` and
/// the state carry `Kᵀ U`) and of the blocked prefill attention, row-major with leading dimensions `lda`,
/// `ldb`, `ldc`. With AVX-512 or AVX2 the C kernel `qk_gemm_f32_add` runs (6 × 64 or 6 × 16 register tiles,
/// every element the same fused sequence whatever the shape; `qk_gemm_f32_add_ref` is its plain twin). Otherwise
/// (no x86 SIMD: ARM) tiles of 4 rows
/// × 64 columns are accumulated in Swift SIMD registers over the whole `k` axis, so each `B` row is loaded once
/// per tile instead of once per output row; other shapes fall back to row-by-row axpy (the same sums, rounded
/// in a slightly different order).
public func gdnMatMulAdd(
    _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    m: Int, k: Int, n: Int
) {
    precondition(m >= 0 && k >= 0 && n >= 0 && lda >= k && ldb >= n && ldc >= n, "gdnMatMulAdd: bad sizes")
    // AVX-512 / AVX2: the C tiles (fused multiply-adds; CKernels/gemm_f32.c). Below: the Swift tiles, for CPUs
    // with neither.
    if qk_gemm_f32_add(a, lda, b, ldb, c, ldc, m, k, n) != 0 { return }
    typealias V = SIMD16<Float>
    let tiledCols = n / 64 * 64
    var i = 0
    while i + 4 <= m {
        var x = 0
        while x < tiledCols {
            var c00 = V(), c01 = V(), c02 = V(), c03 = V()
            var c10 = V(), c11 = V(), c12 = V(), c13 = V()
            var c20 = V(), c21 = V(), c22 = V(), c23 = V()
            var c30 = V(), c31 = V(), c32 = V(), c33 = V()
            let a0 = a + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
            for y in 0..<k {
                let br = UnsafeRawPointer(b + y * ldb + x)
                let b0 = br.loadUnaligned(as: V.self), b1 = br.loadUnaligned(fromByteOffset: 64, as: V.self)
                let b2 = br.loadUnaligned(fromByteOffset: 128, as: V.self), b3 = br.loadUnaligned(fromByteOffset: 192, as: V.self)
                let s0 = V(repeating: a0[y]), s1 = V(repeating: a1[y]), s2 = V(repeating: a2[y]), s3 = V(repeating: a3[y])
                c00 += s0 * b0; c01 += s0 * b1; c02 += s0 * b2; c03 += s0 * b3
                c10 += s1 * b0; c11 += s1 * b1; c12 += s1 * b2; c13 += s1 * b3
                c20 += s2 * b0; c21 += s2 * b1; c22 += s2 * b2; c23 += s2 * b3
                c30 += s3 * b0; c31 += s3 * b1; c32 += s3 * b2; c33 += s3 * b3
            }
            @inline(__always) func add(_ row: Int, _ v0: V, _ v1: V, _ v2: V, _ v3: V) {
                let cr = UnsafeMutableRawPointer(c + (i + row) * ldc + x)
                cr.storeBytes(of: cr.loadUnaligned(as: V.self) + v0, as: V.self)
                cr.storeBytes(of: cr.loadUnaligned(fromByteOffset: 64, as: V.self) + v1, toByteOffset: 64, as: V.self)
                cr.storeBytes(of: cr.loadUnaligned(fromByteOffset: 128, as: V.self) + v2, toByteOffset: 128, as: V.self)
                cr.storeBytes(of: cr.loadUnaligned(fromByteOffset: 192, as: V.self) + v3, toByteOffset: 192, as: V.self)
            }
            add(0, c00, c01, c02, c03); add(1, c10, c11, c12, c13)
            add(2, c20, c21, c22, c23); add(3, c30, c31, c32, c33)
            x += 64
        }
        if tiledCols < n { axpyRows(i, 4, from: tiledCols) }
        i += 4
    }
    if i < m { axpyRows(i, m - i, from: 0) }

    /// Rows `r0 ..< r0+count`, columns `x0 ..< n`: C row += Σ_y A[r, y] · B row y.
    func axpyRows(_ r0: Int, _ count: Int, from x0: Int) {
        for r in r0..<(r0 + count) {
            let cr = c + r * ldc, ar = a + r * lda
            for y in 0..<k {
                let s = ar[y], br = b + y * ldb
                for x in x0..<n { cr[x] += s * br[x] }
            }
        }
    }
}

/// `C[m, n] += A[m, k] · B[k, n]` with A stored transposed (`A[r, y] = at[y · lda + r]`): the blocked prefill
/// attention keeps its probabilities key-major, as its score product leaves them, so that the softmax runs
/// across query rows in vector lanes. Same tiles and per-element sequence as `gdnMatMulAdd` (AVX-512 / AVX2);
/// elsewhere the plain C twin `qk_gemm_f32_add_at_ref`.
public func gdnMatMulAdd(
    transposedA at: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    m: Int, k: Int, n: Int
) {
    precondition(m >= 0 && k >= 0 && n >= 0 && lda >= m && ldb >= n && ldc >= n, "gdnMatMulAdd(transposedA:): bad sizes")
    if qk_gemm_f32_add_at(at, lda, b, ldb, c, ldc, m, k, n) != 0 { return }
    qk_gemm_f32_add_at_ref(at, lda, b, ldb, c, ldc, m, k, n)
}
