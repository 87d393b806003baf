// Integer-dot kernels for the 32-element formats Q4_1, Q5_0, Q5_1 and IQ4_NL in the ggml layout, with their plain
// twins; dispatched from qk_qgemv in quant.c. On AVX-512 VNNI CPUs the repacked kernels (quant_x16_legacy.c) run
// instead; these are their QWENKIT_NO_REPACK path and what CPUs with AVX2 only run (before them: every row
// dequantised to f32, then the f32 GEMV).
// Layouts (ggml-common.h): block_q4_1 {f16 d, m; u8 qs[16]} (20 bytes), block_q5_0 {f16 d; u32 qh; u8 qs[16]}
// (22), block_q5_1 {f16 d, m; u32 qh; u8 qs[16]} (24), block_iq4_nl {f16 d; u8 qs[16]} (18). Element j < 16 is the
// low nibble of qs[j], element 16 + j the high nibble; Q5 formats add bit j (16 + j) of qh as 16. Values: Q4_1 and
// Q5_1 d·q + m, Q5_0 d·(q − 16), IQ4_NL d·kvalues_iq4nl[q]. Against 8-bit activations x = d_x·xq a block is
// d·d_x·Σ v·xq (+ m·d_x·Σxq for the formats with a min, whose activations carry Σxq: act_q8_1).
#include "CKernels.h"
#include "quant_internal.h"
#include <string.h>

/// Block bytes, offset of qs and of qh (0: none), and whether the block has a min, per format.
typedef struct { int bytes, qs, qh, min; } legacy_shape;

INLINE legacy_shape legacy(int type) {
    switch (type) {
    case QK_Q4_1: return (legacy_shape){20, 4, 0, 1};
    case QK_Q5_0: return (legacy_shape){22, 6, 2, 0};
    case QK_Q5_1: return (legacy_shape){24, 8, 4, 1};
    case QK_IQ4_NL: return (legacy_shape){18, 2, 0, 0};
    default: qk_unknown_type("legacy_shape", type);
    }
}

long qk_legacy_block_bytes(int type) { return legacy(type).bytes; }

static float half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return qk_f16_to_f32(h);
}

/// The signed value v of element j of a block (the min not included).
static int legacy_value(int type, const uint8_t *w, int j) {
    legacy_shape sh = legacy(type);
    int q = j < 16 ? w[sh.qs + j] & 0xF : w[sh.qs + j - 16] >> 4;
    if (sh.qh) {
        uint32_t qh;
        memcpy(&qh, w + sh.qh, 4);
        q |= (int)((qh >> j) & 1) << 4;
    }
    return type == QK_IQ4_NL ? kvalues_iq4nl[q] : type == QK_Q5_0 ? q - 16 : q;
}

float qk_dot_legacy_ref(int type, const uint8_t *w, const void *a, long nb) {
    legacy_shape sh = legacy(type);
    float sum = 0;
    for (long b = 0; b < nb; b++, w += sh.bytes) {
        const int8_t *xq = sh.min ? ((const act_q8_1 *)a)[b].q : ((const act_q8_0 *)a)[b].q;
        float dx = sh.min ? ((const act_q8_1 *)a)[b].d : ((const act_q8_0 *)a)[b].d;
        int s = 0;
        for (int j = 0; j < 32; j++) s += legacy_value(type, w, j) * xq[j];
        sum += half_at(w) * dx * (float)s;
        if (sh.min) sum += half_at(w + 2) * dx * (float)((const act_q8_1 *)a)[b].s;
    }
    return sum;
}

#if defined(__x86_64__)
/// 16 in byte j of the result where bit j of the 32 bits at qh is set (the fifth bits of a Q5_0 / Q5_1 block).
AVX2 INLINE __m256i fifth_bits(const uint8_t *qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    // Byte j reads byte j / 8 of the bits (vpshufb stays within each 128-bit half; both hold all four bytes).
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
                                    _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(16));
}

/// Block b's 32 values against one activation block: 8 int32 lanes summing to Σ v·xq. v is the u8 q for the
/// formats with a min, else signed (IQ4_NL's level, Q5_0's q − 16) with the sign trick of dot_q8_0_avx2: |v|
/// (av) times xq with v's sign. The tiles build q, v and av once for all their tokens.
AVX2 INLINE __m256i legacy_values(int type, const uint8_t *wb, __m256i *av) {
    const legacy_shape sh = legacy(type);
    __m256i q = q4_0_unpack(wb + sh.qs);
    if (sh.qh) q = _mm256_or_si256(q, fifth_bits(wb + sh.qh));
    if (sh.min) return *av = q;
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)iq4nl_u8));
    // IQ4_NL: the level + 128 by table, less 128 (kvalues_iq4nl); Q5_0: q − 16.
    __m256i v = type == QK_IQ4_NL ? _mm256_sub_epi8(_mm256_shuffle_epi8(levels, q), _mm256_set1_epi8((char)128))
                                  : _mm256_sub_epi8(q, _mm256_set1_epi8(16));
    *av = _mm256_sign_epi8(v, v);
    return v;
}

AVX2 INLINE __m256i legacy_sums(int type, __m256i v, __m256i av, const int8_t *xq8) {
    __m256i xq = _mm256_loadu_si256((const __m256i *)xq8);
    __m256i p = legacy(type).min ? _mm256_maddubs_epi16(v, xq) : _mm256_maddubs_epi16(av, _mm256_sign_epi8(xq, v));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/// Token activations of block b: quants, scale and (formats with a min) Σxq.
AVX2 INLINE const int8_t *legacy_act(int type, const void *a, long b, float *dx, int *xs) {
    if (legacy(type).min) {
        const act_q8_1 *x = (const act_q8_1 *)a + b;
        *dx = x->d;
        *xs = x->s;
        return x->q;
    }
    const act_q8_0 *x = (const act_q8_0 *)a + b;
    *dx = x->d;
    *xs = 0;
    return x->q;
}

/// Blocks b0..b0 + n − 1 (n ≤ 4) of one row and token, added to sum in order: the 4 blocks' integer sums are
/// finished in one vector (the K-quant dots' scheme), so each block adds d·d_x·Σ (then m·d_x·Σxq) as the twin
/// forms it, not 8 rounded lane products.
AVX2 INLINE float legacy_group(int type, const uint8_t *w, const void *a, long b0, int n, float sum) {
    const legacy_shape sh = legacy(type);
    __m256i sumi[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    float d[4] = {0}, m[4] = {0}, ad[4] = {0};
    int xs[4] = {0};
    for (int i = 0; i < n; i++) {
        const uint8_t *wb = w + sh.bytes * (b0 + i);
        prefetch_ahead(wb, sh.bytes);
        __m256i av, v = legacy_values(type, wb, &av);
        sumi[i] = legacy_sums(type, v, av, legacy_act(type, a, b0 + i, &ad[i], &xs[i]));
        d[i] = f16_scale(wb);
        if (sh.min) m[i] = f16_scale(wb + 2);
    }
    __m128 vad = _mm_loadu_ps(ad);
    __m128 r = scaled4(_mm_loadu_ps(d), vad, hsum4x8i(sumi[0], sumi[1], sumi[2], sumi[3]));
    __m128 mr = _mm_mul_ps(_mm_mul_ps(_mm_loadu_ps(m), vad), _mm_cvtepi32_ps(_mm_loadu_si128((const __m128i *)xs)));
    float rv[4], mv[4];
    _mm_storeu_ps(rv, r);
    _mm_storeu_ps(mv, mr);
    for (int i = 0; i < n; i++) {
        sum += rv[i];
        if (sh.min) sum += mv[i];
    }
    return sum;
}

/// One row against one token: whole groups of 4 blocks, then the rest.
AVX2 INLINE float legacy_dot(int type, const uint8_t *w, const void *a, long nb) {
    float sum = 0;
    long b0 = 0;
    for (; b0 + 4 <= nb; b0 += 4) sum = legacy_group(type, w, a, b0, 4, sum);
    return b0 < nb ? legacy_group(type, w, a, b0, (int)(nb - b0), sum) : sum;
}

/// One row against nt (4 or 8) tokens: each block's values built once for all of them; token t in lane t, with
/// the 1-token dot's operations per block (its integer sum, then d·d_x times it, then the min term).
AVX2 INLINE void legacy_tile(int type, const uint8_t *w, const void *const *a, long nb, float *out, int nt) {
    const legacy_shape sh = legacy(type);
    __m256 acc = _mm256_setzero_ps();
    for (long b = 0; b < nb; b++, w += sh.bytes) {
        prefetch_ahead(w, sh.bytes);
        __m256i av, v = legacy_values(type, w, &av), s[8];
        float ad[8] = {0};
        int xs[8] = {0};
        for (int t = 0; t < nt; t++) s[t] = legacy_sums(type, v, av, legacy_act(type, a[t], b, &ad[t], &xs[t]));
        for (int t = nt; t < 8; t++) s[t] = _mm256_setzero_si256();
        __m256 vad = _mm256_loadu_ps(ad);
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(f16_scale(w)), vad), _mm256_cvtepi32_ps(hsum8x8i(s))));
        if (sh.min) {
            __m256 mr = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(f16_scale(w + 2)), vad),
                                      _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)xs)));
            acc = _mm256_add_ps(acc, mr);
        }
    }
    float r[8];
    _mm256_storeu_ps(r, acc);
    for (int t = 0; t < nt; t++) out[t] = r[t];
}

AVX2 float qk_dot_q4_1_avx2(const uint8_t *w, const void *a, long nb) { return legacy_dot(QK_Q4_1, w, a, nb); }
AVX2 float qk_dot_q5_0_avx2(const uint8_t *w, const void *a, long nb) { return legacy_dot(QK_Q5_0, w, a, nb); }
AVX2 float qk_dot_q5_1_avx2(const uint8_t *w, const void *a, long nb) { return legacy_dot(QK_Q5_1, w, a, nb); }
AVX2 float qk_dot_iq4_nl_avx2(const uint8_t *w, const void *a, long nb) { return legacy_dot(QK_IQ4_NL, w, a, nb); }
AVX2 void qk_dot4_q4_1_avx2(const uint8_t *w, const void *const a[4], long nb, float out[4]) { legacy_tile(QK_Q4_1, w, a, nb, out, 4); }
AVX2 void qk_dot4_q5_0_avx2(const uint8_t *w, const void *const a[4], long nb, float out[4]) { legacy_tile(QK_Q5_0, w, a, nb, out, 4); }
AVX2 void qk_dot4_q5_1_avx2(const uint8_t *w, const void *const a[4], long nb, float out[4]) { legacy_tile(QK_Q5_1, w, a, nb, out, 4); }
AVX2 void qk_dot4_iq4_nl_avx2(const uint8_t *w, const void *const a[4], long nb, float out[4]) { legacy_tile(QK_IQ4_NL, w, a, nb, out, 4); }
AVX2 void qk_dot8_q4_1_avx2(const uint8_t *w, const void *const a[8], long nb, float out[8], const tile_sums *ts) { (void)ts; legacy_tile(QK_Q4_1, w, a, nb, out, 8); }
AVX2 void qk_dot8_q5_0_avx2(const uint8_t *w, const void *const a[8], long nb, float out[8], const tile_sums *ts) { (void)ts; legacy_tile(QK_Q5_0, w, a, nb, out, 8); }
AVX2 void qk_dot8_q5_1_avx2(const uint8_t *w, const void *const a[8], long nb, float out[8], const tile_sums *ts) { (void)ts; legacy_tile(QK_Q5_1, w, a, nb, out, 8); }
AVX2 void qk_dot8_iq4_nl_avx2(const uint8_t *w, const void *const a[8], long nb, float out[8], const tile_sums *ts) { (void)ts; legacy_tile(QK_IQ4_NL, w, a, nb, out, 8); }
#endif
