// The float matmul kernels for CPUs with AVX2 + FMA + F16C and no AVX-512 (AMD Zen 2/3, Intel client cores):
// the same two shapes as the AVX-512 path in matmul.c, 8 lanes wide and within 16 ymm registers.
// - GEMV (decode): 4 consecutive weight rows × up to 2 tokens per block, one accumulator per (row, token) in
//   k order, so a row's result does not depend on how many tokens share the call (batch invariance). The rows
//   are contiguous, so the block prefetches the next block into L2 as one sequential stream (as matmul.c does).
// - GEMM (prefill): weights widened once per 16-column panel of KC rows, a 6-token × 16-column register tile
//   (12 accumulators), k in order per (token, column); as in matmul.c a column's result does not depend on the
//   token count.
#include "CKernels.h"
#include "matmul_internal.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

// 8 weights starting at element idx, widened to f32 (bf16: the bits shifted into the high half).
AVX2 INLINE __m256 ld8(int dt, const void *w, long idx) {
    switch (dt) {
    case QK_F32: return _mm256_loadu_ps((const float *)w + idx);
    case QK_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + idx)));
    default:
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + idx))), 16));
    }
}

// The last n < 8 weights from idx, zero-filled: AVX2 has no masked 16-bit loads, so they go through a buffer.
AVX2 INLINE __m256 ld8_tail(int dt, const void *w, long idx, long n) {
    const long es = dt == QK_F32 ? 4 : 2;
    uint8_t buf[32] = {0};
    memcpy(buf, (const char *)w + idx * es, (size_t)(n * es));
    return ld8(dt, buf, 0);
}

AVX2 INLINE __m256 ldx_tail(const float *x, long n) {
    float buf[8] = {0};
    memcpy(buf, x, (size_t)n * 4);
    return _mm256_loadu_ps(buf);
}

AVX2 INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// MARK: GEMV

// R consecutive rows (1 or 4) × T tokens (1 or 2); `pf` streams the next R-row block into L2 in address order.
AVX2 INLINE void gemv_block(const int dt, const int R, const int T, const void *w, long k,
                            const float *x, float *y, long ldy, long o, const int pf) {
    const long es = dt == QK_F32 ? 4 : 2;
    const char *next = (const char *)w + (o + R) * k * es;
    const int lines = (int)(R * es / 8);   // 64-byte lines of the next block per 8-element step
    __m256 acc[4][2];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 xv[2];
        for (int t = 0; t < T; t++) xv[t] = _mm256_loadu_ps(x + t * k + i);
        for (int r = 0; r < R; r++) {
            __m256 wv = ld8(dt, w, (o + r) * k + i);
            for (int t = 0; t < T; t++) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
        }
        if (pf)   // pf only with R = 4: 4 rows × 8 elements are 1 (16-bit) or 2 (f32) lines of the next block
            for (int l = 0; l < lines; l++) _mm_prefetch(next + i * R * es + l * 64, _MM_HINT_T1);
    }
    if (i < k) {
        __m256 xv[2];
        for (int t = 0; t < T; t++) xv[t] = ldx_tail(x + t * k + i, k - i);
        for (int r = 0; r < R; r++) {
            __m256 wv = ld8_tail(dt, w, (o + r) * k + i, k - i);
            for (int t = 0; t < T; t++) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) y[t * ldy + o + r] = hsum8(acc[r][t]);
}

// Every token of the call, in pairs; the first pair streams the next block in, the others find this one in L1.
AVX2 INLINE void gemv_rows(const int dt, const void *w, long k, const float *x, long tokens,
                           float *y, long ldy, long row0, long row1) {
    long o = row0;
    for (; o + 4 <= row1; o += 4) {
        long t = 0;
        for (; t + 2 <= tokens; t += 2) gemv_block(dt, 4, 2, w, k, x + t * k, y + t * ldy, ldy, o, t == 0);
        if (t < tokens) gemv_block(dt, 4, 1, w, k, x + t * k, y + t * ldy, ldy, o, t == 0);
    }
    for (; o < row1; o++)
        for (long t = 0; t < tokens; t++) gemv_block(dt, 1, 1, w, k, x + t * k, y + t * ldy, ldy, o, 0);
}

AVX2 void qk_gemv_avx2(int dtype, const void *w, long k, const float *x, long tokens,
                  float *y, long ldy, long row0, long row1) {
    switch (dtype) {
    case QK_F32: gemv_rows(QK_F32, w, k, x, tokens, y, ldy, row0, row1); break;
    case QK_F16: gemv_rows(QK_F16, w, k, x, tokens, y, ldy, row0, row1); break;
    default: gemv_rows(QK_BF16, w, k, x, tokens, y, ldy, row0, row1); break;
    }
}

// MARK: GEMM

#define MR 6     // tokens per micro-tile
#define NR 16    // output columns per panel (2 ymm)
#define KC 256   // k-block: the packed panel is KC × NR f32 = 16 KiB, resident in L1 (32 KiB)

static __thread float *pack_buf = NULL;

// packed[kk * NR + j] = W[c0 + j, k0 + kk] widened, zero for columns past `nr` (tails compute harmlessly).
AVX2 INLINE void pack_panel(const int dt, const void *w, long k, long c0, long nr, long k0, long kc, float *packed) {
    for (long j = 0; j < NR; j++) {
        if (j >= nr) {
            for (long kk = 0; kk < kc; kk++) packed[kk * NR + j] = 0;
            continue;
        }
        const long base = (c0 + j) * k + k0;
        long kk = 0;
        for (; kk + 8 <= kc; kk += 8) {
            float tmp[8] __attribute__((aligned(32)));
            _mm256_store_ps(tmp, ld8(dt, w, base + kk));
            for (int q = 0; q < 8; q++) packed[(kk + q) * NR + j] = tmp[q];
        }
        if (kk < kc) {
            float tmp[8] __attribute__((aligned(32)));
            _mm256_store_ps(tmp, ld8_tail(dt, w, base + kk, kc - kk));
            for (long q = 0; kk + q < kc; q++) packed[(kk + q) * NR + j] = tmp[q];
        }
    }
}

// C[M tokens, 16 cols] (+)= x[M, kc] · packed[kc, 16]: 2·M ymm accumulators, one broadcast per token and k.
AVX2 INLINE void micro(const int M, const float *x, long ldx, const float *packed, long kc,
                       float *y, long ldy, long nr, int accumulate) {
    __m256 c0[MR], c1[MR];
    for (int t = 0; t < M; t++) { c0[t] = _mm256_setzero_ps(); c1[t] = _mm256_setzero_ps(); }
    for (long kk = 0; kk < kc; kk++) {
        __m256 b0 = _mm256_load_ps(packed + kk * NR), b1 = _mm256_load_ps(packed + kk * NR + 8);
        for (int t = 0; t < M; t++) {
            __m256 a = _mm256_broadcast_ss(x + t * ldx + kk);
            c0[t] = _mm256_fmadd_ps(a, b0, c0[t]);
            c1[t] = _mm256_fmadd_ps(a, b1, c1[t]);
        }
    }
    for (int t = 0; t < M; t++) {
        float *yt = y + t * ldy;
        if (nr == NR) {
            if (accumulate) {
                c0[t] = _mm256_add_ps(c0[t], _mm256_loadu_ps(yt));
                c1[t] = _mm256_add_ps(c1[t], _mm256_loadu_ps(yt + 8));
            }
            _mm256_storeu_ps(yt, c0[t]);
            _mm256_storeu_ps(yt + 8, c1[t]);
        } else {
            float tmp[NR] __attribute__((aligned(32)));
            _mm256_store_ps(tmp, c0[t]);
            _mm256_store_ps(tmp + 8, c1[t]);
            for (long j = 0; j < nr; j++) yt[j] = accumulate ? yt[j] + tmp[j] : tmp[j];
        }
    }
}

AVX2 static void micro_any(int M, const float *x, long ldx, const float *packed, long kc,
                           float *y, long ldy, long nr, int acc) {
    switch (M) {
    case 6: micro(6, x, ldx, packed, kc, y, ldy, nr, acc); break;
    case 5: micro(5, x, ldx, packed, kc, y, ldy, nr, acc); break;
    case 4: micro(4, x, ldx, packed, kc, y, ldy, nr, acc); break;
    case 3: micro(3, x, ldx, packed, kc, y, ldy, nr, acc); break;
    case 2: micro(2, x, ldx, packed, kc, y, ldy, nr, acc); break;
    default: micro(1, x, ldx, packed, kc, y, ldy, nr, acc); break;
    }
}

AVX2 void qk_gemm_avx2(int dtype, const void *w, long k, const float *x, long tokens,
                  float *y, long ldy, long col0, long col1) {
    if (pack_buf == NULL) pack_buf = (float *)aligned_alloc(64, (size_t)KC * NR * 4);
    float *packed = pack_buf;
    for (long c = col0; c < col1; c += NR) {
        const long nr = col1 - c < NR ? col1 - c : NR;
        for (long k0 = 0; k0 < k; k0 += KC) {
            const long kc = k - k0 < KC ? k - k0 : KC;
            switch (dtype) {
            case QK_F32: pack_panel(QK_F32, w, k, c, nr, k0, kc, packed); break;
            case QK_F16: pack_panel(QK_F16, w, k, c, nr, k0, kc, packed); break;
            default: pack_panel(QK_BF16, w, k, c, nr, k0, kc, packed); break;
            }
            for (long t = 0; t < tokens; t += MR) {
                const int M = tokens - t < MR ? (int)(tokens - t) : MR;
                micro_any(M, x + t * k + k0, k, packed, kc, y + t * ldy + c, ldy, nr, k0 > 0);
            }
        }
    }
}

// MARK: Bandwidth probe

AVX2 float qk_read_sum_avx2(const float *p, long n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    }
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) s += p[i];
    return s;
}
#endif
