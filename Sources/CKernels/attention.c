// Decode-attention inner loops for one KV head over a run of key/value rows `stride` floats apart, serving the
// `group` query heads that share it (Kernels/AttentionDecodeKernels.swift calls them; its plain twins pin them).
// At long context these loops wait on memory: a KV head's rows are pieces of the token rows, which the hardware
// prefetcher does not run far enough ahead on, so the row AHEAD rows ahead (across a page boundary: `next`) is
// prefetched explicitly into L2, one line per 64 bytes. Each key/value row is loaded once for 4 query heads (register tiles of 4 accumulators).
#include "CKernels.h"
#include <string.h>

static int avx512 = -1;

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define AHEAD 64 // rows prefetched ahead, into L2 (T1): measured 8k-deep bf16 decode 0.84 ms/layer vs 1.2 with 16 rows into L1

#define INLINE static inline __attribute__((always_inline))

// KV rows are read in their stored type (QK_F32, QK_BF16, QK_F16) and widened in registers: bf16 and f16 widen
// to f32 exactly, so each type gives what its rows widened into memory first would give, bit for bit, while
// reading half the bytes. `ks` / `vs` strides count elements of that type.
AVX512 INLINE __m512 load16(int type, const void *p, long i) {
    switch (type) {
    case QK_BF16:
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)p + i))), 16));
    case QK_F16: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)p + i)));
    default: return _mm512_loadu_ps((const float *)p + i);
    }
}

INLINE long elem_bytes(int type) { return type == QK_F32 ? 4 : 2; }

/// The row AHEAD rows after row i of a run of `len` rows `stride` bytes apart: past the run's end it continues
/// into `next` (the following run, another page, same stride) so that a page's first rows are in flight too;
/// without a next run it stays on row i (a harmless prefetch).
INLINE const char *ahead(const void *rows, const void *next, long i, long len, long stride) {
    long j = i + AHEAD;
    if (j < len) return (const char *)rows + j * stride;
    return next ? (const char *)next + (j - len) * stride : (const char *)rows + i * stride;
}

// s[g·ldS + i] = (q_g · k_i) · scale for 4 heads; d a multiple of 16.
AVX512 INLINE void scores4_t(int type, const float *q, long d, const void *k, long ks, long len, float scale, float *s, long ldS,
                             const void *next) {
    const long eb = elem_bytes(type);
    for (long i = 0; i < len; i++) {
        const char *kr = (const char *)k + i * ks * eb, *pf = ahead(k, next, i, len, ks * eb);
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long c = 0; c < d; c += 16) {
            if ((c * eb) % 64 == 0) _mm_prefetch(pf + c * eb, _MM_HINT_T1);
            __m512 kv = load16(type, kr, c);
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + c), kv, a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + d + c), kv, a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + 2 * d + c), kv, a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + 3 * d + c), kv, a3);
        }
        s[i] = _mm512_reduce_add_ps(a0) * scale;
        s[ldS + i] = _mm512_reduce_add_ps(a1) * scale;
        s[2 * ldS + i] = _mm512_reduce_add_ps(a2) * scale;
        s[3 * ldS + i] = _mm512_reduce_add_ps(a3) * scale;
    }
}

/// Widens the first multiple of 16 of `n` values; returns how many.
AVX512 static long widen16_avx512(int type, const void *src, float *dst, long n) {
    long i = 0;
    if (type == QK_BF16) for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load16(QK_BF16, src, i));
    else for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load16(QK_F16, src, i));
    return i;
}

AVX512 static void scores4(int type, const float *q, long d, const void *k, long ks, long len, float scale, float *s, long ldS,
                           const void *next) {
    switch (type) {
    case QK_BF16: scores4_t(QK_BF16, q, d, k, ks, len, scale, s, ldS, next); break;
    case QK_F16: scores4_t(QK_F16, q, d, k, ks, len, scale, s, ldS, next); break;
    default: scores4_t(QK_F32, q, d, k, ks, len, scale, s, ldS, next); break;
    }
}

// o[g·d + c] += Σ_i p[g·ldP + i] · v_i[c] for 4 heads, over J·16 columns from c0: 4·J accumulators held in
// registers across the run, so each value row is read in d / (J·16) pieces (a run's pieces stay in L1).
AVX512 INLINE void accumulate_cols(int type, const int J, const float *p, long ldP, long d, const void *v, long vs, long len,
                                   float *o, long c0, const void *next) {
    const long eb = elem_bytes(type);
    __m512 a[4][4];
    for (int h = 0; h < 4; h++)
        for (int j = 0; j < J; j++) a[h][j] = _mm512_loadu_ps(o + h * d + c0 + 16 * j);
    for (long i = 0; i < len; i++) {
        if (c0 == 0) {
            const char *pf = ahead(v, next, i, len, vs * eb);
            for (long l = 0; l < d * eb; l += 64) _mm_prefetch(pf + l, _MM_HINT_T1);
        }
        const char *vr = (const char *)v + (i * vs + c0) * eb;
        __m512 ph[4];
        for (int h = 0; h < 4; h++) ph[h] = _mm512_set1_ps(p[h * ldP + i]);
        for (int j = 0; j < J; j++) {
            __m512 vv = load16(type, vr, 16 * j);
            for (int h = 0; h < 4; h++) a[h][j] = _mm512_fmadd_ps(ph[h], vv, a[h][j]);
        }
    }
    for (int h = 0; h < 4; h++)
        for (int j = 0; j < J; j++) _mm512_storeu_ps(o + h * d + c0 + 16 * j, a[h][j]);
}

AVX512 INLINE void accumulate4_t(int type, const float *p, long ldP, long d, const void *v, long vs, long len, float *o,
                                 const void *next) {
    for (long c0 = 0; c0 < d; c0 += 64) {
        switch ((d - c0) / 16) {
        case 1: accumulate_cols(type, 1, p, ldP, d, v, vs, len, o, c0, next); break;
        case 2: accumulate_cols(type, 2, p, ldP, d, v, vs, len, o, c0, next); break;
        case 3: accumulate_cols(type, 3, p, ldP, d, v, vs, len, o, c0, next); break;
        default: accumulate_cols(type, 4, p, ldP, d, v, vs, len, o, c0, next); break;
        }
    }
}

AVX512 static void accumulate4(int type, const float *p, long ldP, long d, const void *v, long vs, long len, float *o,
                               const void *next) {
    switch (type) {
    case QK_BF16: accumulate4_t(QK_BF16, p, ldP, d, v, vs, len, o, next); break;
    case QK_F16: accumulate4_t(QK_F16, p, ldP, d, v, vs, len, o, next); break;
    default: accumulate4_t(QK_F32, p, ldP, d, v, vs, len, o, next); break;
    }
}
#endif

// Returns 0 when the caller must use its own loop (no AVX-512, d not a multiple of 16): the caller's Swift loop
// is then the only path, so the result never depends on which path ran for a given machine and shape.
int qk_attn_scores4(const float *q, long d, const float *k, long ks, long len, float scale, float *s, long ldS) {
    return qk_attn_scores4_typed(QK_F32, q, d, k, ks, len, scale, s, ldS, 0);
}

int qk_attn_accumulate4(const float *p, long ldP, long d, const float *v, long vs, long len, float *o) {
    return qk_attn_accumulate4_typed(QK_F32, p, ldP, d, v, vs, len, o, 0);
}

int qk_attn_typed_supported(int type, long d) {
#if defined(__x86_64__)
    if (avx512 < 0) avx512 = qk_has_avx512();
    return avx512 && d % 16 == 0 && (type == QK_F32 || type == QK_BF16 || type == QK_F16);
#else
    (void)type; (void)d;
    return 0;
#endif
}

int qk_attn_scores4_typed(int type, const float *q, long d, const void *k, long ks, long len, float scale, float *s, long ldS,
                          const void *next) {
#if defined(__x86_64__)
    if (qk_attn_typed_supported(type, d)) {
        scores4(type, q, d, k, ks, len, scale, s, ldS, next);
        return 1;
    }
#endif
    return 0;
}

int qk_attn_accumulate4_typed(int type, const float *p, long ldP, long d, const void *v, long vs, long len, float *o,
                              const void *next) {
#if defined(__x86_64__)
    if (qk_attn_typed_supported(type, d)) {
        accumulate4(type, p, ldP, d, v, vs, len, o, next);
        return 1;
    }
#endif
    return 0;
}

// bf16 / f16 rows widened to f32 (exact) for the paths that work on f32 copies (prefill's blocked attention):
// 16 lanes at a time with AVX-512, else one value at a time with the same result.
void qk_widen16(int type, const void *src, float *dst, long n) {
    long i = 0;
#if defined(__x86_64__)
    if (qk_attn_typed_supported(type, 16)) i = widen16_avx512(type, src, dst, n);
#endif
    const uint16_t *h = (const uint16_t *)src;
    for (; i < n; i++) {
        if (type == QK_BF16) {
            uint32_t u = (uint32_t)h[i] << 16;
            memcpy(dst + i, &u, 4);
        } else {
            dst[i] = qk_f16_to_f32(h[i]);
        }
    }
}
