// Small f32 products of the prefill paths (blocked attention, chunked Gated DeltaNet): C[m, n] += A[m, k] · B[k, n],
// row-major with leading dimensions, n up to a few hundred, k up to 256. Register tiles of up to 6 rows × 64
// columns (24 zmm accumulators; AVX2: 6 × 16, 12 ymm) over the whole k, B rows loaded once per 6 rows of A.
// Every element of C gets the same sequence wherever it falls (full tile, row tail, column tail, any m or n):
// acc = 0; acc = fma(A[r, y], B[y, x], acc) for y = 0 … k−1; C[r, x] += acc. So a product's element does not
// depend on the shape of the call it is part of (chunk and batch invariance), and the plain twin
// qk_gemm_f32_add_ref, which runs that sequence with fmaf, equals the kernel bit for bit. The _at forms take A
// stored transposed (only where the broadcast scalar is read from changes).
#include "CKernels.h"
#include <math.h>

void qk_gemm_f32_add_ref(const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n) {
    for (long r = 0; r < m; r++)
        for (long x = 0; x < n; x++) {
            float acc = 0;
            for (long y = 0; y < k; y++) acc = fmaf(a[r * lda + y], b[y * ldb + x], acc);
            c[r * ldc + x] += acc;
        }
}

// A stored transposed: A[r, y] = at[y * lda + r] (the blocked attention's probabilities, key-major).
void qk_gemm_f32_add_at_ref(const float *at, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n) {
    for (long r = 0; r < m; r++)
        for (long x = 0; x < n; x++) {
            float acc = 0;
            for (long y = 0; y < k; y++) acc = fmaf(at[y * lda + r], b[y * ldb + x], acc);
            c[r * ldc + x] += acc;
        }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define INLINE static inline __attribute__((always_inline))

/// R rows × V vectors of 16 columns (the last one masked by `last`).
AVX512 INLINE void tile(const int T, const int R, const int V, const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                        long k, __mmask16 last) {
    __m512 acc[6][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_ps();
    for (long y = 0; y < k; y++) {
        const float *br = b + y * ldb;
        __m512 bv[4];
        for (int v = 0; v < V; v++) bv[v] = _mm512_maskz_loadu_ps(v == V - 1 ? last : 0xFFFF, br + 16 * v);
        for (int r = 0; r < R; r++) {
            __m512 s = _mm512_set1_ps(T ? a[y * lda + r] : a[r * lda + y]);   // T: A stored transposed
            for (int v = 0; v < V; v++) acc[r][v] = _mm512_fmadd_ps(s, bv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) {
            __mmask16 mk = v == V - 1 ? last : 0xFFFF;
            float *cr = c + r * ldc + 16 * v;
            _mm512_mask_storeu_ps(cr, mk, _mm512_add_ps(_mm512_maskz_loadu_ps(mk, cr), acc[r][v]));
        }
}

#define TILE_V(R)                                                                              \
    switch (V) {                                                                               \
    case 1: tile(T, R, 1, a, lda, b, ldb, c, ldc, k, last); break;                                \
    case 2: tile(T, R, 2, a, lda, b, ldb, c, ldc, k, last); break;                                \
    case 3: tile(T, R, 3, a, lda, b, ldb, c, ldc, k, last); break;                                \
    default: tile(T, R, 4, a, lda, b, ldb, c, ldc, k, last); break;                               \
    }

AVX512 INLINE void tile_rv(const int T, int R, int V, const float *a, long lda, const float *b, long ldb, float *c, long ldc, long k,
                           __mmask16 last) {
    switch (R) {
    case 1: TILE_V(1) break;
    case 2: TILE_V(2) break;
    case 3: TILE_V(3) break;
    case 4: TILE_V(4) break;
    case 5: TILE_V(5) break;
    default: TILE_V(6) break;
    }
}

AVX512 INLINE void gemm_avx512(const int T, const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m, long k,
                               long n) {
    for (long x0 = 0; x0 < n; x0 += 64) {
        long cols = n - x0 < 64 ? n - x0 : 64;
        int V = (int)((cols + 15) / 16);
        long rem = cols - 16 * (V - 1);
        __mmask16 last = (__mmask16)(rem == 16 ? 0xFFFF : (1u << rem) - 1);
        for (long r0 = 0; r0 < m; r0 += 6) {
            int R = (int)(m - r0 < 6 ? m - r0 : 6);
            tile_rv(T, R, V, T ? a + r0 : a + r0 * lda, lda, b + x0, ldb, c + r0 * ldc + x0, ldc, k, last);
        }
    }
}

AVX512 static void gemm_plain(const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n) {
    gemm_avx512(0, a, lda, b, ldb, c, ldc, m, k, n);
}
AVX512 static void gemm_transposed(const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n) {
    gemm_avx512(1, a, lda, b, ldb, c, ldc, m, k, n);
}

// AVX2 + FMA (no AVX-512): tiles of up to 6 rows × 16 columns (12 ymm accumulators), the same per-element
// sequence, so the same bits as the AVX-512 tiles and the twin.
#define AVX2 __attribute__((target("avx2,fma")))

/// The first `n` (≤ 8) lanes: a maskload / maskstore mask.
AVX2 INLINE __m256i lanes8(long n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2 INLINE void tile8(const int T, const int R, const int V, const float *a, long lda, const float *b, long ldb, float *c,
                       long ldc, long k, __m256i last) {
    const __m256i all = _mm256_set1_epi32(-1);
    __m256 acc[6][2];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) acc[r][v] = _mm256_setzero_ps();
    for (long y = 0; y < k; y++) {
        const float *br = b + y * ldb;
        __m256 bv[2];
        for (int v = 0; v < V; v++) bv[v] = _mm256_maskload_ps(br + 8 * v, v == V - 1 ? last : all);
        for (int r = 0; r < R; r++) {
            __m256 s = _mm256_set1_ps(T ? a[y * lda + r] : a[r * lda + y]);   // T: A stored transposed
            for (int v = 0; v < V; v++) acc[r][v] = _mm256_fmadd_ps(s, bv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int v = 0; v < V; v++) {
            __m256i mk = v == V - 1 ? last : all;
            float *cr = c + r * ldc + 8 * v;
            _mm256_maskstore_ps(cr, mk, _mm256_add_ps(_mm256_maskload_ps(cr, mk), acc[r][v]));
        }
}

#define TILE8_V(R)                                                             \
    if (V == 1) tile8(T, R, 1, a, lda, b, ldb, c, ldc, k, last);               \
    else tile8(T, R, 2, a, lda, b, ldb, c, ldc, k, last);

AVX2 INLINE void tile8_rv(const int T, int R, int V, const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                          long k, __m256i last) {
    switch (R) {
    case 1: TILE8_V(1) break;
    case 2: TILE8_V(2) break;
    case 3: TILE8_V(3) break;
    case 4: TILE8_V(4) break;
    case 5: TILE8_V(5) break;
    default: TILE8_V(6) break;
    }
}

AVX2 INLINE void gemm_avx2(const int T, const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m, long k,
                           long n) {
    for (long x0 = 0; x0 < n; x0 += 16) {
        long cols = n - x0 < 16 ? n - x0 : 16;
        int V = (int)((cols + 7) / 8);
        __m256i last = lanes8(cols - 8 * (V - 1));
        for (long r0 = 0; r0 < m; r0 += 6) {
            int R = (int)(m - r0 < 6 ? m - r0 : 6);
            tile8_rv(T, R, V, T ? a + r0 : a + r0 * lda, lda, b + x0, ldb, c + r0 * ldc + x0, ldc, k, last);
        }
    }
}

AVX2 static void gemm_plain_avx2(const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n) {
    gemm_avx2(0, a, lda, b, ldb, c, ldc, m, k, n);
}
AVX2 static void gemm_transposed_avx2(const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m, long k,
                                      long n) {
    gemm_avx2(1, a, lda, b, ldb, c, ldc, m, k, n);
}
#endif

static int gemm_dispatch(int transposed, const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m,
                         long k, long n) {
#if defined(__x86_64__)
    const int level = qk_simd_level();   // 2 AVX-512, 1 AVX2, 0 neither (checked once, cached in cpu.c)
    if (level == 2) {
        if (transposed) gemm_transposed(a, lda, b, ldb, c, ldc, m, k, n);
        else gemm_plain(a, lda, b, ldb, c, ldc, m, k, n);
        return 1;
    }
    if (level == 1) {
        if (transposed) gemm_transposed_avx2(a, lda, b, ldb, c, ldc, m, k, n);
        else gemm_plain_avx2(a, lda, b, ldb, c, ldc, m, k, n);
        return 1;
    }
#endif
    (void)transposed; (void)a; (void)lda; (void)b; (void)ldb; (void)c; (void)ldc; (void)m; (void)k; (void)n;
    return 0;
}

int qk_gemm_f32_add(const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n) {
    return gemm_dispatch(0, a, lda, b, ldb, c, ldc, m, k, n);
}

int qk_gemm_f32_add_at(const float *at, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n) {
    return gemm_dispatch(1, at, lda, b, ldb, c, ldc, m, k, n);
}
