// Integer-dot kernels for Q4_0 (what llama.cpp's Q4_0 files hold) and Q5_K (the bulk of Q5_K_M files and the
// attention output of 8-expert Q4_K_M files), each with its plain twin; dispatched from qk_qgemv in quant.c.
// Block layouts follow ggml-common.h: block_q4_0 {f16 d; u8 qs[16]} (element j low nibble of qs[j],
// element 16 + j high nibble, value q − 8); block_q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}
// (Q4_K's nibbles plus a fifth bit: element 64g + l takes bit 2g of qh[l], element 64g + 32 + l bit 2g + 1).
#include "quant_internal.h"

// MARK: - Plain twins

/// Σ_blocks d_w·d_x·Σ (q − 8)·x (ggml dequantize_row_q4_0 times the activation block).
float qk_dot_q4_0_ref(const uint8_t *w, const act_q8_0 *a, long nb) {
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 18) {
        int s = 0;
        for (int j = 0; j < 16; j++) {
            s += ((w[2 + j] & 0xF) - 8) * a[b].q[j];
            s += ((w[2 + j] >> 4) - 8) * a[b].q[16 + j];
        }
        uint16_t d;
        memcpy(&d, w, 2);
        sum += qk_f16_to_f32(d) * a[b].d * (float)s;
    }
    return sum;
}

/// The 5-bit value of element 64g + l (hi = 0) or 64g + 32 + l (hi = 1) of a Q5_K block (ggml dequantize_row_q5_K).
static inline int q5_K_value(const uint8_t *w, int g, int l, int hi) {
    const uint8_t *qh = w + 16, *qs = w + 48;
    int nibble = hi ? qs[32 * g + l] >> 4 : qs[32 * g + l] & 0xF;
    return nibble | (((qh[l] >> (2 * g + hi)) & 1) << 4);
}

float qk_dot_q5_K_ref(const uint8_t *w, const act_q8_k *a, long nb) {
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 176) {
        int sc[8], m[8], sumi = 0;
        q4_K_scales(w, sc, m);
        for (int j = 0; j < 8; j++) {
            int s = 0;
            for (int l = 0; l < 32; l++) s += q5_K_value(w, j / 2, l, j % 2) * a[b].q[32 * j + l];
            sumi += sc[j] * s;
        }
        sum += q4_K_block(w, a + b, m, sumi);
    }
    return sum;
}

#if defined(__x86_64__)

// MARK: - AVX2: vpmaddubsw (u8 × s8 pairs → s16), vpmaddwd (→ s32)

/// q − 8 ∈ [−8, 7] times x with the sign trick of dot_q8_0_avx2 (|w| is u8, x takes w's sign).
AVX2 float qk_dot_q4_0_avx2(const uint8_t *w, const act_q8_0 *a, long nb) {
    const __m256i ones = _mm256_set1_epi16(1), eight = _mm256_set1_epi8(8);
    __m256 acc = _mm256_setzero_ps();
    for (long b = 0; b < nb; b++, w += 18) {
        __m256i wq = _mm256_sub_epi8(q4_0_unpack(w + 2), eight);
        __m256i xq = _mm256_loadu_si256((const __m256i *)a[b].q);
        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq)), ones);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(f16_scale(w) * a[b].d), acc);
    }
    return hsum256(acc);
}

/// 32 five-bit values of chunk g: nibbles of `q` (lo or hi half) with bit 0 of each byte of `h` as the 16s.
AVX2 INLINE __m256i q5_bits(__m256i nibbles, __m256i h) {
    return _mm256_or_si256(nibbles, _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(1)), 4));
}

/// Group g of a Q5_K block: its 64 five-bit values as two rows of 32 (elements 64g.., 64g + 32..). `h` holds
/// the block's qh already shifted right by 2g: bits 2g and 2g + 1 at positions 0 and 1.
AVX2 INLINE void q5_K_group(const uint8_t *w, int g, __m256i h, __m256i *lo, __m256i *hi) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i q = _mm256_loadu_si256((const __m256i *)(w + 48 + 32 * g));
    *lo = q5_bits(_mm256_and_si256(q, low4), h);
    *hi = q5_bits(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), _mm256_srli_epi16(h, 1));
}

/// Blocks b0..b0 + n − 1 (n ≤ 4) of one row and token, added to sum in order (a literal 4 for whole groups).
AVX2 INLINE float q5_K_group_dot(const uint8_t *w, const act_q8_k *a, long b0, int n, float sum) {
    block_group gr;
    block_group_clear(&gr);
    for (int i = 0; i < n; i++) {
        const uint8_t *wb = w + 176 * (b0 + i);
        const act_q8_k *x = a + b0 + i;
        prefetch_ahead(wb, 176);
        uint32_t u[4];
        q4_K_scales_mins(wb + 4, u);
        __m256i sc16 = q4_K_scales16(u), h = _mm256_loadu_si256((const __m256i *)(wb + 16));
        __m256i sumi = _mm256_setzero_si256();
        for (int g = 0; g < 4; g++, h = _mm256_srli_epi16(h, 2)) {
            __m256i lo, hi;
            q5_K_group(wb, g, h, &lo, &hi);
            sumi = q4_K_step_avx2(lo, hi, q4_K_scale(sc16, 2 * g), q4_K_scale(sc16, 2 * g + 1), g, x, sumi);
        }
        gr.sumi[i] = sumi;
        gr.aux[i] = q4_K_summ(u, x);
        gr.d[i] = f16_scale(wb);
        gr.dmin[i] = f16_scale(wb + 2);
        gr.ad[i] = x->d;
    }
    return q4_K_finish(&gr, n, sum);
}

AVX2 float qk_dot_q5_K_avx2(const uint8_t *w, const act_q8_k *a, long nb) {
    return grouped_dot(q5_K_group_dot, w, a, nb);
}

/// Prefill tile for Q5_K: one row against nt (4 or 8) tokens, each group's five-bit values built once for all of
/// them; per token the integer sums and float operations of the 1-token dot.
AVX2 INLINE void q5_K_tile_avx2(const uint8_t *w, const act_q8_k *const *a, long nb, float *out, int nt,
                                const tile_sums *ts) {
    __m128 acc[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (long b = 0; b < nb; b++, w += 176) {
        prefetch_ahead(w, 176);
        uint32_t u[4];
        q4_K_scales_mins(w + 4, u);
        __m256i sc16 = q4_K_scales16(u), h = _mm256_loadu_si256((const __m256i *)(w + 16)), sumi[8];
        for (int j = 0; j < nt; j++) sumi[j] = _mm256_setzero_si256();
        for (int g = 0; g < 4; g++, h = _mm256_srli_epi16(h, 2)) {
            __m256i lo, hi, s0 = q4_K_scale(sc16, 2 * g), s1 = q4_K_scale(sc16, 2 * g + 1);
            q5_K_group(w, g, h, &lo, &hi);
            for (int j = 0; j < nt; j++) sumi[j] = q4_K_step_avx2(lo, hi, s0, s1, g, a[j] + b, sumi[j]);
        }
        q4_K_tile_finish(acc, w, u, a, b, sumi, nt, ts ? ts + b : NULL);
    }
    for (int i = 0; i < nt / 4; i++) _mm_storeu_ps(out + 4 * i, acc[i]);
}

AVX2 void qk_dot4_q5_K_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]) {
    q5_K_tile_avx2(w, a, nb, out, 4, NULL);
}

AVX2 void qk_dot8_q5_K_avx2(const uint8_t *w, const act_q8_k *const a[8], long nb, float out[8], const tile_sums *ts) {
    q5_K_tile_avx2(w, a, nb, out, 8, ts);
}

// MARK: - AVX-512 VNNI: vpdpbusd (u8 × s8 → s32)

/// Q4_0 two blocks at a time (int32 lanes 0-7 block 0, 8-15 block 1): q ∈ [0, 15] is already unsigned, so
/// Σ(q − 8)·x = dpbusd(q, x) − dpbusd(8, x), no sign trick needed.
VNNI float qk_dot_q4_0_vnni(const uint8_t *w, const act_q8_0 *a, long nb) {
    const __m512i eight = _mm512_set1_epi8(8);
    __m512 acc = _mm512_setzero_ps();
    long b = 0;
    for (; b + 2 <= nb; b += 2) {
        const uint8_t *wb = w + 18 * b;
        __m512i wq = _mm512_inserti64x4(_mm512_castsi256_si512(q4_0_unpack(wb + 2)), q4_0_unpack(wb + 20), 1);
        __m512i xq = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a[b].q)),
                                        _mm256_loadu_si256((const __m256i *)a[b + 1].q), 1);
        __m512i dot = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, xq),
                                       _mm512_dpbusd_epi32(_mm512_setzero_si512(), eight, xq));
        uint16_t d0, d1;
        memcpy(&d0, wb, 2);
        memcpy(&d1, wb + 18, 2);
        __m512 scale = _mm512_insertf32x8(_mm512_set1_ps(_cvtsh_ss(d0) * a[b].d), _mm256_set1_ps(_cvtsh_ss(d1) * a[b + 1].d), 1);
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc);
    }
    float sum = _mm512_reduce_add_ps(acc);
    if (b < nb) sum += qk_dot_q4_0_ref(w + 18 * b, a + b, nb - b);
    return sum;
}

VNNI float qk_dot_q5_K_vnni(const uint8_t *w, const act_q8_k *a, long nb) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 176) {
        int sc[8], m[8];
        q4_K_scales(w, sc, m);
        __m256i h = _mm256_loadu_si256((const __m256i *)(w + 16));
        __m512i sumi = _mm512_setzero_si512();
        for (int g = 0; g < 4; g++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(w + 48 + 32 * g));
            __m256i lo = q5_bits(_mm256_and_si256(q, low4), h);
            __m256i hi = q5_bits(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), _mm256_srli_epi16(h, 1));
            h = _mm256_srli_epi16(h, 2);
            __m512i wq = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            __m512i xq = _mm512_loadu_si512((const void *)(a[b].q + 64 * g));
            __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, xq);
            __m512i s = _mm512_inserti64x4(_mm512_set1_epi32(sc[2 * g]), _mm256_set1_epi32(sc[2 * g + 1]), 1);
            sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(dot, s));
        }
        sum += q4_K_block(w, a + b, m, _mm512_reduce_add_epi32(sumi));
    }
    return sum;
}
#endif
