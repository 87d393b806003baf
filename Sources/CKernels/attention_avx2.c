// Decode-attention loops for CPUs with AVX2 and no AVX-512: the structure of attention.c's (each token row read
// start to end once for all its KV heads and query heads, rows prefetched AHEAD rows ahead, across a page
// boundary into `next`), 8 lanes wide and within 16 ymm registers: scores 2 keys × 4 query heads per register
// tile, P·V with the weights broadcast from memory.
#include "CKernels.h"
#include "attention_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))

AVX2 INLINE __m256 load8(int type, const void *p, long i) {
    switch (type) {
    case QK_BF16:
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i))), 16));
    case QK_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + i)));
    default: return _mm256_loadu_ps((const float *)p + i);
    }
}

AVX2 INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Scores of keys i ..< i + R (R ≤ 2) for query heads qg[0 ..< 4]: one accumulator per score, its fmas over c in
/// order, one 8-lane sum.
AVX2 INLINE void scores_rows(int type, const int R, const float *qg, long d, const char *row, long ks, float scale, float *s,
                             long ldS, const char *pf) {
    const long eb = elem_bytes(type);
    __m256 a[2][4];
    for (int r = 0; r < R; r++)
        for (int g = 0; g < 4; g++) a[r][g] = _mm256_setzero_ps();
    for (long c = 0; c < d; c += 8) {
        __m256 kv[2];
        if (pf && (c * eb) % 64 == 0)
            for (int r = 0; r < R; r++) _mm_prefetch(pf + r * ks + c * eb, _MM_HINT_T1);
        for (int r = 0; r < R; r++) kv[r] = load8(type, row + r * ks, c);
        for (int g = 0; g < 4; g++) {
            const __m256 qv = _mm256_loadu_ps(qg + g * d + c);
            for (int r = 0; r < R; r++) a[r][g] = _mm256_fmadd_ps(qv, kv[r], a[r][g]);
        }
    }
    for (int g = 0; g < 4; g++)
        for (int r = 0; r < R; r++) s[g * ldS + r] = hsum8(a[r][g]) * scale;
}

AVX2 INLINE void scores_t(int type, const float *q, long d, long H, long G, const void *k, long ks, long len, float scale,
                          float *s, long ldS, const void *next) {
    const long eb = elem_bytes(type);
    for (long i = 0; i < len; i += 2) {
        const int R = len - i >= 2 ? 2 : 1;
        const char *pf = ahead(k, next, i, len, ks * eb);
        const char *row = (const char *)k + i * ks * eb;
        for (long h = 0; h < H; h++)
            for (long g = 0; g < G; g += 4) {
                const float *qg = q + (h * G + g) * d;
                float *sg = s + (h * G + g) * ldS + i;
                const char *kr = row + h * d * eb, *hpf = g == 0 ? pf + h * d * eb : NULL;   // once per head
                if (R == 2) scores_rows(type, 2, qg, d, kr, ks * eb, scale, sg, ldS, hpf);
                else scores_rows(type, 1, qg, d, kr, ks * eb, scale, sg, ldS, hpf);
            }
    }
}

AVX2 void qk_attn_scores_avx2(int type, const float *q, long d, long H, long G, const void *k, long ks, long len, float scale,
                              float *s, long ldS, const void *next) {
    switch (type) {
    case QK_BF16: scores_t(QK_BF16, q, d, H, G, k, ks, len, scale, s, ldS, next); break;
    case QK_F16: scores_t(QK_F16, q, d, H, G, k, ks, len, scale, s, ldS, next); break;
    default: scores_t(QK_F32, q, d, H, G, k, ks, len, scale, s, ldS, next); break;
    }
}

// o[(h·G + g)·d + c] += Σ_i p[(h·G + g)·ldP + i] · v_i[h·d + c]: four keys at a time, each element's products in
// key order, one fma at a time, the sums in o (as attention.c does).
AVX2 INLINE void accumulate_t(int type, const float *p, long ldP, long d, long H, long G, const void *v, long vs, long len,
                              float *o, const void *next) {
    const long eb = elem_bytes(type);
    long i = 0;
    for (; i + 4 <= len; i += 4) {
        const char *pf = ahead(v, next, i, len, vs * eb);
        for (long h = 0; h < H; h++) {
            const char *r0 = (const char *)v + (i * vs + h * d) * eb, *r1 = r0 + vs * eb, *r2 = r1 + vs * eb, *r3 = r2 + vs * eb;
            for (long g = 0; g < G; g += 4) {
                const float *pg = p + (h * G + g) * ldP + i;
                float *og = o + (h * G + g) * d;
                for (long c = 0; c < d; c += 8) {
                    if (g == 0 && (c * eb) % 64 == 0)
                        for (long r = 0; r < 4; r++) _mm_prefetch(pf + r * vs * eb + (h * d + c) * eb, _MM_HINT_T1);
                    __m256 v0 = load8(type, r0, c), v1 = load8(type, r1, c), v2 = load8(type, r2, c), v3 = load8(type, r3, c);
                    for (int a = 0; a < 4; a++) {
                        const float *w = pg + a * ldP;
                        __m256 acc = _mm256_loadu_ps(og + a * d + c);
                        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(w), v0, acc);
                        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 1), v1, acc);
                        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 2), v2, acc);
                        acc = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 3), v3, acc);
                        _mm256_storeu_ps(og + a * d + c, acc);
                    }
                }
            }
        }
    }
    for (; i < len; i++) {
        for (long h = 0; h < H; h++) {
            const char *r0 = (const char *)v + (i * vs + h * d) * eb;
            for (long g = 0; g < G; g++) {
                const __m256 w = _mm256_set1_ps(p[(h * G + g) * ldP + i]);
                float *og = o + (h * G + g) * d;
                for (long c = 0; c < d; c += 8)
                    _mm256_storeu_ps(og + c, _mm256_fmadd_ps(w, load8(type, r0, c), _mm256_loadu_ps(og + c)));
            }
        }
    }
}

AVX2 void qk_attn_accumulate_avx2(int type, const float *p, long ldP, long d, long H, long G, const void *v, long vs, long len,
                                  float *o, const void *next) {
    switch (type) {
    case QK_BF16: accumulate_t(QK_BF16, p, ldP, d, H, G, v, vs, len, o, next); break;
    case QK_F16: accumulate_t(QK_F16, p, ldP, d, H, G, v, vs, len, o, next); break;
    default: accumulate_t(QK_F32, p, ldP, d, H, G, v, vs, len, o, next); break;
    }
}

AVX2 long qk_widen8_avx2(int type, const void *src, float *dst, long n) {
    long i = 0;
    if (type == QK_BF16) for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(QK_BF16, src, i));
    else for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(QK_F16, src, i));
    return i;
}
#endif
