// Matmul kernels: y[T, out] = x[T, in] · W[out, in]ᵀ with W read in its stored dtype (f32 / f16 / bf16) and
// widened to f32 in registers; activations and accumulation stay f32 (the model must match f32 references).
// Two shapes: a GEMV for decode (few tokens, bandwidth bound) and a packed, register-blocked GEMM for prefill
// (compute bound). Each has an AVX-512 version, an AVX2 + FMA + F16C one (Zen 2/3, Intel client cores) and a
// portable one, chosen at run time (qk_matmul_level).
// A new weight format adds a QK_* code, a widening load (ld16/ld16m, widen_scalar) and nothing else.
#include "CKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "matmul_internal.h"

#define INLINE static inline __attribute__((always_inline))

/// 2 AVX-512, 1 AVX2 + FMA + F16C, 0 portable; -1 until first use (then the best the CPU has).
static int simd_level = -1;
static int best_level(void) { return qk_simd_level(); }
int qk_matmul_level(void) {
    if (simd_level < 0) simd_level = best_level();
    return simd_level;
}
static int use_avx512(void) { return qk_matmul_level() == 2; }
static int use_avx2(void) { return qk_matmul_level() == 1; }

void qk_force_portable(int on) { simd_level = on ? 0 : best_level(); }
void qk_matmul_force_level(int level) {
    int best = best_level();
    simd_level = level < 0 || level > best ? best : level;
}

// MARK: - Portable path

float qk_f16_to_f32(uint16_t h) {
    uint32_t s = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
    float f;
    if (e == 0) {
        f = (float)m * 5.9604644775390625e-8f; // m · 2^-24 (zero or subnormal)
        memcpy(&u, &f, 4);
        u |= s;
    } else if (e == 31) {
        // Infinity, or NaN made quiet (mantissa bit 22 set) as vcvtph2ps and Swift's Float(Float16) make it, so
        // this scalar path widens every pattern exactly as the vector paths do.
        u = s | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0);
    } else {
        u = s | ((e + 112) << 23) | (m << 13);
    }
    memcpy(&f, &u, 4);
    return f;
}

INLINE float widen_scalar(int dt, const void *w, long idx) {
    switch (dt) {
    case QK_F32: return ((const float *)w)[idx];
    case QK_F16: return qk_f16_to_f32(((const uint16_t *)w)[idx]);
    default: {
        uint32_t u = (uint32_t)((const uint16_t *)w)[idx] << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    }
}

static __thread float *row_buf = NULL;
static __thread long row_cap = 0;

static float *thread_buffer(float **buf, long *cap, long n) {
    if (*cap < n) {
        free(*buf);
        *buf = (float *)aligned_alloc(64, (size_t)((n + 15) / 16 * 64));
        *cap = (n + 15) / 16 * 16;
    }
    return *buf;
}

// One weight row widened to f32, then dotted with every token (4 partial sums so the compiler vectorizes).
static void portable_rows(int dt, const void *w, long k, const float *x, long tokens,
                          float *y, long ldy, long row0, long row1) {
    float *r = thread_buffer(&row_buf, &row_cap, k);
    for (long o = row0; o < row1; o++) {
        for (long i = 0; i < k; i++) r[i] = widen_scalar(dt, w, o * k + i);
        for (long t = 0; t < tokens; t++) {
            const float *xt = x + t * k;
            float s[4] = {0, 0, 0, 0};
            long i = 0;
            for (; i + 4 <= k; i += 4)
                for (int j = 0; j < 4; j++) s[j] += xt[i + j] * r[i + j];
            for (; i < k; i++) s[0] += xt[i] * r[i];
            y[t * ldy + o] = (s[0] + s[1]) + (s[2] + s[3]);
        }
    }
}

// MARK: - AVX-512 path

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))

// 16 weights starting at element idx, widened to f32 (bf16: shift the bits into the high half).
AVX512 INLINE __m512 ld16(int dt, const void *w, long idx) {
    switch (dt) {
    case QK_F32: return _mm512_loadu_ps((const float *)w + idx);
    case QK_F16: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + idx)));
    default:
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + idx))), 16));
    }
}

AVX512 INLINE __m512 ld16m(int dt, const void *w, long idx, __mmask16 m) {
    switch (dt) {
    case QK_F32: return _mm512_maskz_loadu_ps(m, (const float *)w + idx);
    case QK_F16: return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + idx));
    default:
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, (const uint16_t *)w + idx)), 16));
    }
}

// R consecutive weight rows × T tokens; the x loads are shared by the R rows, the weight loads by the T tokens.
// The R rows are read side by side, R streams 2·k bytes apart, which some hosts' hardware prefetchers follow
// badly (Zen 4 here: 23 GB/s for 4 rows vs 50 GB/s for one row at a time, probe 52 GB/s). The R rows are
// contiguous, so with `pf` the block streams the next block in, in address order, as one sequential stream:
// 23 → 44 GB/s at T = 1 on the lm_head geometry, bench-0.8b decode 66 → 44 ms per token (bf16, 2 threads).
// Into L2 (T1), not L1: a block of the down projection (4 × 3584 bf16 = 28 KiB) would evict x and this block.
// The arithmetic is untouched (one accumulator per (row, token) in k order), so results are bit-identical.
AVX512 INLINE void gemv_block(const int dt, const int R, const int T, const void *w, long k,
                              const float *x, float *y, long ldy, long o, const int pf) {
    const long es = dt == QK_F32 ? 4 : 2;
    const char *next = (const char *)w + (o + R) * k * es; // the next block, R·k·es bytes from here
    const int lines = (int)(R * es / 4);                   // 64-byte lines of it per 16-element step
    __m512 acc[4][4];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    long i = 0;
    for (; i + 16 <= k; i += 16) {
        __m512 xv[4];
        for (int t = 0; t < T; t++) xv[t] = _mm512_loadu_ps(x + t * k + i);
        for (int r = 0; r < R; r++) {
            __m512 wv = ld16(dt, w, (o + r) * k + i);
            for (int t = 0; t < T; t++) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
        }
        if (pf)
            for (int l = 0; l < lines; l++) _mm_prefetch(next + i * R * es + l * 64, _MM_HINT_T1);
    }
    if (i < k) {
        __mmask16 m = (__mmask16)((1u << (k - i)) - 1);
        __m512 xv[4];
        for (int t = 0; t < T; t++) xv[t] = _mm512_maskz_loadu_ps(m, x + t * k + i);
        for (int r = 0; r < R; r++) {
            __m512 wv = ld16m(dt, w, (o + r) * k + i, m);
            for (int t = 0; t < T; t++) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) y[t * ldy + o + r] = _mm512_reduce_add_ps(acc[r][t]);
}

AVX512 INLINE void gemv_rows(const int dt, const int T, const void *w, long k, const float *x,
                             float *y, long ldy, long row0, long row1) {
    long o = row0;
    for (; o + 4 <= row1; o += 4) gemv_block(dt, 4, T, w, k, x, y, ldy, o, 1);
    for (; o < row1; o++) gemv_block(dt, 1, T, w, k, x, y, ldy, o, 0);
}

// More than 4 tokens: each 4-row block (L1-resident) is reused by successive 4-token groups, so no packing
// is paid; this beats the packed GEMM for small token counts (MoE experts, short prompts).
AVX512 INLINE void gemv_rows_many(const int dt, const void *w, long k, const float *x, long tokens,
                                  float *y, long ldy, long row0, long row1) {
    long o = row0;
    for (; o + 4 <= row1; o += 4) {
        long t = 0;
        // The first token group streams the next block in; the others find this one in L1.
        for (; t + 4 <= tokens; t += 4) gemv_block(dt, 4, 4, w, k, x + t * k, y + t * ldy, ldy, o, t == 0);
        switch (tokens - t) {
        case 3: gemv_block(dt, 4, 3, w, k, x + t * k, y + t * ldy, ldy, o, 0); break;
        case 2: gemv_block(dt, 4, 2, w, k, x + t * k, y + t * ldy, ldy, o, 0); break;
        case 1: gemv_block(dt, 4, 1, w, k, x + t * k, y + t * ldy, ldy, o, 0); break;
        default: break;
        }
    }
    for (; o < row1; o++)
        for (long t = 0; t < tokens; t++) gemv_block(dt, 1, 1, w, k, x + t * k, y + t * ldy, ldy, o, 0);
}

#define GEMV_T(DT)                                                                   \
    switch (tokens) {                                                                \
    case 1: gemv_rows(DT, 1, w, k, x, y, ldy, row0, row1); break;                    \
    case 2: gemv_rows(DT, 2, w, k, x, y, ldy, row0, row1); break;                    \
    case 3: gemv_rows(DT, 3, w, k, x, y, ldy, row0, row1); break;                    \
    case 4: gemv_rows(DT, 4, w, k, x, y, ldy, row0, row1); break;                    \
    default: gemv_rows_many(DT, w, k, x, tokens, y, ldy, row0, row1); break;         \
    }

AVX512 static void gemv_avx512(int dt, const void *w, long k, const float *x, long tokens,
                               float *y, long ldy, long row0, long row1) {
    switch (dt) {
    case QK_F32: GEMV_T(QK_F32); break;
    case QK_F16: GEMV_T(QK_F16); break;
    default: GEMV_T(QK_BF16); break;
    }
}

// MARK: GEMM

#define MR 8           // tokens per micro-tile
#define NR QK_GEMM_NR  // output columns per panel (2 zmm)
#define KC 256         // k-block: the packed panel is KC × NR f32 = 32 KiB, resident in L1 (48 KiB)

static __thread float *pack_buf = NULL;
static __thread long pack_cap = 0;

// packed[kk * NR + j] = W[c0 + j, k0 + kk] widened, zero for columns past `nr` (tails compute harmlessly).
AVX512 INLINE void pack_panel(const int dt, const void *w, long k, long c0, long nr, long k0, long kc,
                              float *packed) {
    for (long j = 0; j < NR; j++) {
        if (j >= nr) {
            for (long kk = 0; kk < kc; kk++) packed[kk * NR + j] = 0;
            continue;
        }
        const long base = (c0 + j) * k + k0;
        long kk = 0;
        for (; kk + 16 <= kc; kk += 16) {
            float tmp[16] __attribute__((aligned(64)));
            _mm512_store_ps(tmp, ld16(dt, w, base + kk));
            for (int q = 0; q < 16; q++) packed[(kk + q) * NR + j] = tmp[q];
        }
        for (; kk < kc; kk++) packed[kk * NR + j] = widen_scalar(dt, w, base + kk);
    }
}

// C[M tokens, 32 cols] (+)= x[M, kc] · packed[kc, 32]: 2·M zmm accumulators, one broadcast per token and k.
AVX512 INLINE void micro(const int M, const float *x, long ldx, const float *packed, long kc,
                         float *y, long ldy, __mmask16 m0, __mmask16 m1, int accumulate) {
    __m512 c0[MR], c1[MR];
    for (int t = 0; t < M; t++) { c0[t] = _mm512_setzero_ps(); c1[t] = _mm512_setzero_ps(); }
    for (long kk = 0; kk < kc; kk++) {
        __m512 b0 = _mm512_load_ps(packed + kk * NR), b1 = _mm512_load_ps(packed + kk * NR + 16);
        for (int t = 0; t < M; t++) {
            __m512 a = _mm512_set1_ps(x[t * ldx + kk]);
            c0[t] = _mm512_fmadd_ps(a, b0, c0[t]);
            c1[t] = _mm512_fmadd_ps(a, b1, c1[t]);
        }
    }
    for (int t = 0; t < M; t++) {
        float *yt = y + t * ldy;
        if (accumulate) {
            c0[t] = _mm512_add_ps(c0[t], _mm512_maskz_loadu_ps(m0, yt));
            c1[t] = _mm512_add_ps(c1[t], _mm512_maskz_loadu_ps(m1, yt + 16));
        }
        _mm512_mask_storeu_ps(yt, m0, c0[t]);
        _mm512_mask_storeu_ps(yt + 16, m1, c1[t]);
    }
}

AVX512 static void micro_any(int M, const float *x, long ldx, const float *packed, long kc,
                             float *y, long ldy, __mmask16 m0, __mmask16 m1, int acc) {
    switch (M) {
    case 8: micro(8, x, ldx, packed, kc, y, ldy, m0, m1, acc); break;
    case 7: micro(7, x, ldx, packed, kc, y, ldy, m0, m1, acc); break;
    case 6: micro(6, x, ldx, packed, kc, y, ldy, m0, m1, acc); break;
    case 5: micro(5, x, ldx, packed, kc, y, ldy, m0, m1, acc); break;
    case 4: micro(4, x, ldx, packed, kc, y, ldy, m0, m1, acc); break;
    case 3: micro(3, x, ldx, packed, kc, y, ldy, m0, m1, acc); break;
    case 2: micro(2, x, ldx, packed, kc, y, ldy, m0, m1, acc); break;
    default: micro(1, x, ldx, packed, kc, y, ldy, m0, m1, acc); break;
    }
}

AVX512 static void gemm_avx512(int dt, const void *w, long k, const float *x, long tokens,
                               float *y, long ldy, long col0, long col1) {
    float *packed = thread_buffer(&pack_buf, &pack_cap, (long)KC * NR);
    for (long c = col0; c < col1; c += NR) {
        const long nr = col1 - c < NR ? col1 - c : NR;
        const __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
        const __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
        for (long k0 = 0; k0 < k; k0 += KC) {
            const long kc = k - k0 < KC ? k - k0 : KC;
            switch (dt) {
            case QK_F32: pack_panel(QK_F32, w, k, c, nr, k0, kc, packed); break;
            case QK_F16: pack_panel(QK_F16, w, k, c, nr, k0, kc, packed); break;
            default: pack_panel(QK_BF16, w, k, c, nr, k0, kc, packed); break;
            }
            for (long t = 0; t < tokens; t += MR) {
                const int M = tokens - t < MR ? (int)(tokens - t) : MR;
                micro_any(M, x + t * k + k0, k, packed, kc, y + t * ldy + c, ldy, m0, m1, k0 > 0);
            }
        }
    }
}

AVX512 static float qk_read_sum_avx512(const float *p, long n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    long i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; i < n; i++) s += p[i];
    return s;
}
#endif

// MARK: - Entry points

/// The inner switches read any code that is not F32 / F16 as BF16 (one branch less in the hot loop), so the
/// entry points reject every other code first: a wrong code must abort, not run as bf16.
static void check_plain(const char *where, int dtype) {
    if (dtype != QK_F32 && dtype != QK_F16 && dtype != QK_BF16) {
        fprintf(stderr, "qwenkit: %s: no float kernel for weight code %d\n", where, dtype);
        abort();
    }
}

static void gemv_tokens(int dtype, const void *w, long k, const float *x, long tokens,
                        float *y, long ldy, long row0, long row1) {
#if defined(__x86_64__)
    if (use_avx512()) {
        gemv_avx512(dtype, w, k, x, tokens, y, ldy, row0, row1);
        return;
    }
    if (use_avx2()) {
        qk_gemv_avx2(dtype, w, k, x, tokens, y, ldy, row0, row1);
        return;
    }
#endif
    portable_rows(dtype, w, k, x, tokens, y, ldy, row0, row1);
}

void qk_gemv(int dtype, const void *w, long k, const float *x, long tokens,
             float *y, long ldy, long row0, long row1) {
    check_plain("qk_gemv", dtype);
    // Blocks of 64 tokens, so a block's activations stay in L2 while every row block reads them (a wide
    // row-wise prompt forward); a token's result does not depend on the block or group it is computed in.
    for (long t0 = 0; t0 < tokens; t0 += 64)
        gemv_tokens(dtype, w, k, x + t0 * k, tokens - t0 < 64 ? tokens - t0 : 64, y + t0 * ldy, ldy, row0, row1);
}

void qk_gemm(int dtype, const void *w, long k, const float *x, long tokens,
             float *y, long ldy, long col0, long col1) {
    check_plain("qk_gemm", dtype);
#if defined(__x86_64__)
    if (use_avx512()) {
        gemm_avx512(dtype, w, k, x, tokens, y, ldy, col0, col1);
        return;
    }
    if (use_avx2()) {
        qk_gemm_avx2(dtype, w, k, x, tokens, y, ldy, col0, col1);
        return;
    }
#endif
    portable_rows(dtype, w, k, x, tokens, y, ldy, col0, col1);
}

float qk_read_sum(const float *p, long n) {
#if defined(__x86_64__)
    if (use_avx512()) return qk_read_sum_avx512(p, n);
    if (use_avx2()) return qk_read_sum_avx2(p, n);
#endif
    float s = 0;
    for (long i = 0; i < n; i++) s += p[i];
    return s;
}
