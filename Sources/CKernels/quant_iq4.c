// Integer dot for IQ4_XS rows in the ggml layout (what AVX2 CPUs run; AVX-512 VNNI CPUs run the repacked x16
// kernel of quant_x16_k2.c), with its plain twin; dispatched from qk_qgemv in quant.c. block_iq4_xs
// {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}: sub-block ib (32 elements) has the 6-bit scale
// ls = low nibble ib of scales_l | 2 bits ib of scales_h << 4, and value kvalues_iq4nl[nibble] · d · (ls − 32);
// element 32·ib + j is the low nibble of qs[16·ib + j], element 32·ib + 16 + j its high nibble
// (ggml dequantize_row_iq4_xs). Activations: act_q8_k (one scale per 256).
#include "quant_internal.h"

/// kvalues_iq4nl: the 16 signed levels of IQ4_NL / IQ4_XS.
static const int8_t iq4_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

INLINE int iq4_xs_scale(const uint8_t *w, int ib) {
    int scales_h = w[2] | (w[3] << 8);
    return (((w[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (((scales_h >> (2 * ib)) & 3) << 4)) - 32;
}

/// Σ_blocks d_w·d_x·Σ_ib (ls − 32)·Σ_j level(q)·x.
float qk_dot_iq4_xs_ref(const uint8_t *w, const act_q8_k *a, long nb) {
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 136) {
        int sumi = 0;
        for (int ib = 0; ib < 8; ib++) {
            int s = 0;
            for (int j = 0; j < 16; j++) {
                s += iq4_levels[w[8 + 16 * ib + j] & 0xF] * a[b].q[32 * ib + j];
                s += iq4_levels[w[8 + 16 * ib + j] >> 4] * a[b].q[32 * ib + 16 + j];
            }
            sumi += iq4_xs_scale(w, ib) * s;
        }
        uint16_t d;
        memcpy(&d, w, 2);
        sum += qk_f16_to_f32(d) * a[b].d * (float)sumi;
    }
    return sum;
}

#if defined(__x86_64__)
/// Sub-block ib's 32 levels as int8 (one vpshufb), in element order.
AVX2 INLINE __m256i iq4_xs_levels(const uint8_t *w, int ib) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)iq4_levels));
    const __m128i low4 = _mm_set1_epi8(0x0F);
    __m128i q = _mm_loadu_si128((const __m128i *)(w + 8 + 16 * ib));
    __m256i idx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), low4), _mm_and_si128(q, low4));
    return _mm256_shuffle_epi8(table, idx);
}

/// Sub-block ib against one activation block, added to sumi: |level| × (x with the level's sign) in pairs
/// (≤ 2·127·127, no int16 saturation), then × (ls − 32) into int32 lanes. Shared by the 1- and 4-token dots.
AVX2 INLINE __m256i iq4_xs_step(__m256i v, __m256i av, short ls, const act_q8_k *x, int ib, __m256i sumi) {
    __m256i xq = _mm256_loadu_si256((const __m256i *)(x->q + 32 * ib));
    __m256i p = _mm256_maddubs_epi16(av, _mm256_sign_epi8(xq, v));
    return _mm256_add_epi32(sumi, _mm256_madd_epi16(p, _mm256_set1_epi16(ls)));
}

AVX2 float qk_dot_iq4_xs_avx2(const uint8_t *w, const act_q8_k *a, long nb) {
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 136) {
        _mm_prefetch((const char *)w + 2048, _MM_HINT_T0);
        _mm_prefetch((const char *)w + 2048 + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)w + 2048 + 128, _MM_HINT_T0);
        __m256i sumi = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++) {
            __m256i v = iq4_xs_levels(w, ib);
            sumi = iq4_xs_step(v, _mm256_sign_epi8(v, v), (short)iq4_xs_scale(w, ib), a + b, ib, sumi);
        }
        sum += f16_scale(w) * a[b].d * (float)hsum256i(sumi);
    }
    return sum;
}

/// Prefill tile: each sub-block's levels looked up once for 4 tokens; per token the steps of the 1-token dot.
AVX2 void qk_dot4_iq4_xs_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]) {
    float sum[4] = {0, 0, 0, 0};
    for (long b = 0; b < nb; b++, w += 136) {
        __m256i sumi[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int ib = 0; ib < 8; ib++) {
            __m256i v = iq4_xs_levels(w, ib), av = _mm256_sign_epi8(v, v);
            short ls = (short)iq4_xs_scale(w, ib);
            for (int j = 0; j < 4; j++) sumi[j] = iq4_xs_step(v, av, ls, a[j] + b, ib, sumi[j]);
        }
        float d = f16_scale(w);
        for (int j = 0; j < 4; j++) sum[j] += d * a[j][b].d * (float)hsum256i(sumi[j]);
    }
    for (int j = 0; j < 4; j++) out[j] = sum[j];
}
#endif
