// Decode-attention inner loops for one KV head over a run of key/value rows `stride` floats apart, serving the
// `group` query heads that share it (Kernels/AttentionDecodeKernels.swift calls them; its plain twins pin them).
// At long context these loops wait on memory: a KV head's rows are 1 KiB pieces 2 KiB apart, which the hardware
// prefetcher does not run far enough ahead on, so each row a few rows ahead is prefetched explicitly, one line
// per 16-float step. Each key/value row is loaded once for 4 query heads (register tiles of 4 accumulators).
#include "CKernels.h"

static int avx512 = -1;

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define AHEAD 6 // rows prefetched ahead

// s[g·ldS + i] = (q_g · k_i) · scale for 4 heads; d a multiple of 16.
AVX512 static void scores4(const float *q, long d, const float *k, long ks, long len, float scale, float *s, long ldS) {
    for (long i = 0; i < len; i++) {
        const float *kr = k + i * ks, *pf = k + (i + AHEAD < len ? i + AHEAD : i) * ks;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long c = 0; c < d; c += 16) {
            _mm_prefetch((const char *)(pf + c), _MM_HINT_T0);
            __m512 kv = _mm512_loadu_ps(kr + c);
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

// o[g·d + c] += Σ_i p[g·ldP + i] · v_i[c] for 4 heads, over J·16 columns from c0: 4·J accumulators held in
// registers across the run, so each value row is read in d / (J·16) pieces (a run's pieces stay in L1).
#define INLINE static inline __attribute__((always_inline))
AVX512 INLINE void accumulate_cols(const int J, const float *p, long ldP, long d, const float *v, long vs, long len,
                                   float *o, long c0) {
    __m512 a[4][4];
    for (int h = 0; h < 4; h++)
        for (int j = 0; j < J; j++) a[h][j] = _mm512_loadu_ps(o + h * d + c0 + 16 * j);
    for (long i = 0; i < len; i++) {
        if (c0 == 0 && i + AHEAD < len)
            for (long l = 0; l < d; l += 16) _mm_prefetch((const char *)(v + (i + AHEAD) * vs + l), _MM_HINT_T0);
        const float *vr = v + i * vs + c0;
        __m512 ph[4];
        for (int h = 0; h < 4; h++) ph[h] = _mm512_set1_ps(p[h * ldP + i]);
        for (int j = 0; j < J; j++) {
            __m512 vv = _mm512_loadu_ps(vr + 16 * j);
            for (int h = 0; h < 4; h++) a[h][j] = _mm512_fmadd_ps(ph[h], vv, a[h][j]);
        }
    }
    for (int h = 0; h < 4; h++)
        for (int j = 0; j < J; j++) _mm512_storeu_ps(o + h * d + c0 + 16 * j, a[h][j]);
}

AVX512 static void accumulate4(const float *p, long ldP, long d, const float *v, long vs, long len, float *o) {
    for (long c0 = 0; c0 < d; c0 += 64) {
        switch ((d - c0) / 16) {
        case 1: accumulate_cols(1, p, ldP, d, v, vs, len, o, c0); break;
        case 2: accumulate_cols(2, p, ldP, d, v, vs, len, o, c0); break;
        case 3: accumulate_cols(3, p, ldP, d, v, vs, len, o, c0); break;
        default: accumulate_cols(4, p, ldP, d, v, vs, len, o, c0); break;
        }
    }
}
#endif

// Returns 0 when the caller must use its own loop (no AVX-512, d not a multiple of 16): the caller's Swift loop
// is then the only path, so the result never depends on which path ran for a given machine and shape.
int qk_attn_scores4(const float *q, long d, const float *k, long ks, long len, float scale, float *s, long ldS) {
#if defined(__x86_64__)
    if (avx512 < 0) avx512 = qk_has_avx512();
    if (d % 16 == 0 && avx512) {
        scores4(q, d, k, ks, len, scale, s, ldS);
        return 1;
    }
#endif
    return 0;
}

int qk_attn_accumulate4(const float *p, long ldP, long d, const float *v, long vs, long len, float *o) {
#if defined(__x86_64__)
    if (avx512 < 0) avx512 = qk_has_avx512();
    if (d % 16 == 0 && avx512) {
        accumulate4(p, ldP, d, v, vs, len, o);
        return 1;
    }
#endif
    return 0;
}
