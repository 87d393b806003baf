// Decode-attention inner loops over a run of key/value rows `stride` elements apart, each row holding H KV heads
// side by side, serving the G query heads that share each (Kernels/Attention.swift calls them; the plain twins
// in AttentionDecodeKernels.swift pin them). At long context these loops wait on memory, so a row is read start
// to end, once for all its heads and query heads, and the row AHEAD rows ahead (across a page boundary: `next`)
// is prefetched into L2, one line per 64 bytes.
#include "CKernels.h"
#include "attention_internal.h"
#include <string.h>

/// 2 AVX-512, 1 AVX2 + FMA + F16C (attention_avx2.c), 0 neither (the caller's loops); -1 until first use.
static int level = -1;
static int simd_level(void) {
    if (level < 0) level = qk_simd_level();
    return level;
}

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

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

/// Scores of keys i ..< i + R (R ≤ 4 rows, `ks` bytes apart from `row`) for query heads qg[0 ..< 4] against the
/// head at `row`: each q piece is loaded once for the R keys (L1 serves one 64-byte load per cycle here, so a
/// key at a time would wait on the loads of q, not on the fmas). Each score is still one accumulator's fmas over
/// c in order and one _mm512_reduce_add_ps, whatever R. `pf` (or NULL): the rows to prefetch, R rows `ks` apart,
/// a line per 64 bytes interleaved with the loads.
AVX512 INLINE void scores_rows(int type, const int R, const float *qg, long d, const char *row, long ks, float scale, float *s,
                               long ldS, const char *pf) {
    __m512 a[4][4];   // a[key][head]
    for (int r = 0; r < R; r++)
        for (int g = 0; g < 4; g++) a[r][g] = _mm512_setzero_ps();
    for (long c = 0; c < d; c += 16) {
        __m512 kv[4];
        if (pf && (c * elem_bytes(type)) % 64 == 0)
            for (int r = 0; r < R; r++) _mm_prefetch(pf + r * ks + c * elem_bytes(type), _MM_HINT_T1);
        for (int r = 0; r < R; r++) kv[r] = load16(type, row + r * ks, c);
        for (int g = 0; g < 4; g++) {
            const __m512 qv = _mm512_loadu_ps(qg + g * d + c);
            for (int r = 0; r < R; r++) a[r][g] = _mm512_fmadd_ps(qv, kv[r], a[r][g]);
        }
    }
    for (int g = 0; g < 4; g++)
        for (int r = 0; r < R; r++) s[g * ldS + r] = _mm512_reduce_add_ps(a[r][g]) * scale;
}

// s[(h·G + g)·ldS + i] = (q_{h·G+g} · k_i[h]) · scale for h < H, g < G (G a multiple of 4, d of 16). Key row i
// (k + i·ks) holds the H KV heads' d values side by side and is read start to end, once for every query head:
// a thread reading every other head row of the token rows streams at a third of the speed (one core, 8k bf16
// rows of 2 heads: 8.5 GB/s of useful bytes reading half of each 1 KB row, 25.5 reading all of it).
AVX512 INLINE void scores_t(int type, const float *q, long d, long H, long G, const void *k, long ks, long len, float scale,
                            float *s, long ldS, const void *next) {
    const long eb = elem_bytes(type);
    long i = 0;
    for (; i < len; i += 4) {
        const int R = len - i >= 4 ? 4 : (int)(len - i);
        const char *pf = ahead(k, next, i, len, ks * eb);
        const char *row = (const char *)k + i * ks * eb;
        for (long h = 0; h < H; h++)
            for (long g = 0; g < G; g += 4) {
                const float *qg = q + (h * G + g) * d;
                float *sg = s + (h * G + g) * ldS + i;
                const char *kr = row + h * d * eb, *hpf = g == 0 ? pf + h * d * eb : NULL;   // once per head
                switch (R) {
                case 4: scores_rows(type, 4, qg, d, kr, ks * eb, scale, sg, ldS, hpf); break;
                case 3: scores_rows(type, 3, qg, d, kr, ks * eb, scale, sg, ldS, hpf); break;
                case 2: scores_rows(type, 2, qg, d, kr, ks * eb, scale, sg, ldS, hpf); break;
                default: scores_rows(type, 1, qg, d, kr, ks * eb, scale, sg, ldS, hpf); break;
                }
            }
    }
}

/// Widens the first multiple of 16 of `n` values; returns how many.
AVX512 static long widen16_avx512(int type, const void *src, float *dst, long n) {
    long i = 0;
    if (type == QK_BF16) for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load16(QK_BF16, src, i));
    else for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, load16(QK_F16, src, i));
    return i;
}

AVX512 static void scores(int type, const float *q, long d, long H, long G, const void *k, long ks, long len, float scale,
                          float *s, long ldS, const void *next) {
    switch (type) {
    case QK_BF16: scores_t(QK_BF16, q, d, H, G, k, ks, len, scale, s, ldS, next); break;
    case QK_F16: scores_t(QK_F16, q, d, H, G, k, ks, len, scale, s, ldS, next); break;
    default: scores_t(QK_F32, q, d, H, G, k, ks, len, scale, s, ldS, next); break;
    }
}

// o[(h·G + g)·d + c] += Σ_i p[(h·G + g)·ldP + i] · v_i[h·d + c], rows as in scores_t. Four keys at a time, each
// row read start to end. (Holding the sums in registers across the run, column block by column block, reads
// every row in pieces: a pattern the prefetcher does not follow, 1.5× slower from DRAM.) The sums stay in o, in
// L1, and each element takes its products in key order, one fma at a time, as a register accumulator would: the
// same bits.
AVX512 INLINE void accumulate_t(int type, const float *p, long ldP, long d, long H, long G, const void *v, long vs, long len,
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
                __m512 w[4][4];   // w[head][key]
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) w[a][b] = _mm512_set1_ps(pg[a * ldP + b]);
                for (long c = 0; c < d; c += 16) {
                    if (g == 0 && (c * eb) % 64 == 0)
                        for (long r = 0; r < 4; r++) _mm_prefetch(pf + r * vs * eb + (h * d + c) * eb, _MM_HINT_T1);
                    __m512 v0 = load16(type, r0, c), v1 = load16(type, r1, c), v2 = load16(type, r2, c), v3 = load16(type, r3, c);
                    for (int a = 0; a < 4; a++) {
                        __m512 acc = _mm512_loadu_ps(og + a * d + c);
                        acc = _mm512_fmadd_ps(w[a][0], v0, acc);
                        acc = _mm512_fmadd_ps(w[a][1], v1, acc);
                        acc = _mm512_fmadd_ps(w[a][2], v2, acc);
                        acc = _mm512_fmadd_ps(w[a][3], v3, acc);
                        _mm512_storeu_ps(og + a * d + c, acc);
                    }
                }
            }
        }
    }
    for (; i < len; i++) {
        for (long h = 0; h < H; h++) {
            const char *r0 = (const char *)v + (i * vs + h * d) * eb;
            for (long g = 0; g < G; g++) {
                const __m512 w = _mm512_set1_ps(p[(h * G + g) * ldP + i]);
                float *og = o + (h * G + g) * d;
                for (long c = 0; c < d; c += 16)
                    _mm512_storeu_ps(og + c, _mm512_fmadd_ps(w, load16(type, r0, c), _mm512_loadu_ps(og + c)));
            }
        }
    }
}

AVX512 static void accumulate(int type, const float *p, long ldP, long d, long H, long G, const void *v, long vs, long len,
                              float *o, const void *next) {
    switch (type) {
    case QK_BF16: accumulate_t(QK_BF16, p, ldP, d, H, G, v, vs, len, o, next); break;
    case QK_F16: accumulate_t(QK_F16, p, ldP, d, H, G, v, vs, len, o, next); break;
    default: accumulate_t(QK_F32, p, ldP, d, H, G, v, vs, len, o, next); break;
    }
}
#endif

// Returns 0 when the caller must use its own loop (neither AVX-512 with d a multiple of 16 nor AVX2 with d a
// multiple of 8): the caller's Swift loop is then the only path, so the result never depends on which path ran
// for a given machine and shape.
int qk_attn_scores4(const float *q, long d, const float *k, long ks, long len, float scale, float *s, long ldS) {
    return qk_attn_scores_typed(QK_F32, q, d, 1, 4, k, ks, len, scale, s, ldS, 0);
}

int qk_attn_accumulate4(const float *p, long ldP, long d, const float *v, long vs, long len, float *o) {
    return qk_attn_accumulate_typed(QK_F32, p, ldP, d, 1, 4, v, vs, len, o, 0);
}

void qk_attn_force_level(int lv) {
    level = -1;
    int best = simd_level();
    level = lv < 0 || lv > best ? best : lv;
}

int qk_attn_typed_supported(int type, long d) {
    int lv = simd_level();
    return (lv == 2 ? d % 16 == 0 : lv == 1 ? d % 8 == 0 : 0) && (type == QK_F32 || type == QK_BF16 || type == QK_F16);
}

int qk_attn_scores_typed(int type, const float *q, long d, long heads, long group, const void *k, long ks, long len,
                         float scale, float *s, long ldS, const void *next) {
#if defined(__x86_64__)
    if (qk_attn_typed_supported(type, d) && group % 4 == 0 && heads >= 1 && ks >= heads * d) {
        if (simd_level() == 2) scores(type, q, d, heads, group, k, ks, len, scale, s, ldS, next);
        else qk_attn_scores_avx2(type, q, d, heads, group, k, ks, len, scale, s, ldS, next);
        return 1;
    }
#endif
    return 0;
}

int qk_attn_accumulate_typed(int type, const float *p, long ldP, long d, long heads, long group, const void *v, long vs,
                             long len, float *o, const void *next) {
#if defined(__x86_64__)
    if (qk_attn_typed_supported(type, d) && group % 4 == 0 && heads >= 1 && vs >= heads * d) {
        if (simd_level() == 2) accumulate(type, p, ldP, d, heads, group, v, vs, len, o, next);
        else qk_attn_accumulate_avx2(type, p, ldP, d, heads, group, v, vs, len, o, next);
        return 1;
    }
#endif
    return 0;
}

// bf16 / f16 rows widened to f32 (exact) for the paths that work on f32 copies (prefill's blocked attention):
// 16 lanes at a time with AVX-512, 8 with AVX2, else one value at a time with the same result.
void qk_widen16(int type, const void *src, float *dst, long n) {
    long i = 0;
#if defined(__x86_64__)
    if (simd_level() == 2) i = widen16_avx512(type, src, dst, n);
    else if (simd_level() == 1) i = qk_widen8_avx2(type, src, dst, n);
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
