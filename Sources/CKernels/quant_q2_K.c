// Integer-dot kernels for Q2_K in the ggml layout (the bulk of Q2_K files, e.g. the 35B-A3B at ~2.6 bits for
// 16 GB machines), with the plain twin; dispatched from qk_qgemv in quant.c: what CPUs with AVX2 only run, and
// the QWENKIT_NO_REPACK path of AVX-512 VNNI CPUs (which otherwise run the repacked quant_x16_k2.c).
// block_q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin} (84 bytes): element 128h + 32j + l (h < 2, j < 4, l < 32) is
// q = (qs[32h + l] >> 2j) & 3 in sub-block s = 8h + 2j + l / 16, whose scale is scales[s] & 15 and min
// scales[s] >> 4; its value d·sc·q − dmin·m (ggml dequantize_row_q2_K). Against 8-bit activations the block is
// d_x·(d·Σ_s sc_s·Σ q·x − dmin·Σ_s m_s·Σx_s): Q4_K's form with Q6_K's 16 sub-blocks.
#include "CKernels.h"
#include "quant_internal.h"
#include <string.h>

/// Σ_blocks d_x·(d·sumi − dmin·summ), element by element.
float qk_dot_q2_K_ref(const uint8_t *w, const act_q8_k *a, long nb) {
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 84) {
        int sumi = 0, summ = 0;
        for (int s = 0; s < 16; s++) {
            int h = s / 8, j = (s % 8) / 2, part = s % 2, qx = 0;
            for (int l = 16 * part; l < 16 * part + 16; l++)
                qx += ((w[16 + 32 * h + l] >> (2 * j)) & 3) * a[b].q[128 * h + 32 * j + l];
            sumi += (w[s] & 15) * qx;
            summ += (w[s] >> 4) * a[b].sums[s];
        }
        uint16_t dh, mh;
        memcpy(&dh, w + 80, 2);
        memcpy(&mh, w + 82, 2);
        sum += a[b].d * (qk_f16_to_f32(dh) * (float)sumi - qk_f16_to_f32(mh) * (float)summ);
    }
    return sum;
}

#if defined(__x86_64__)
/// Elements 128h + 32j … + 31 as u8 in [0, 3] (chunk 4h + j).
AVX2 INLINE __m256i q2_K_values(const uint8_t *w, int h, int j) {
    __m256i qs = _mm256_loadu_si256((const __m256i *)(w + 16 + 32 * h));
    return _mm256_and_si256(_mm256_srli_epi16(qs, 2 * j), _mm256_set1_epi8(3));
}

/// The 16 scales and the 16 mins as int16 (sub-blocks 0-7 in the low 128 bits, 8-15 in the high).
AVX2 INLINE void q2_K_scales_mins16(const uint8_t *w, __m256i *sc16, __m256i *m16) {
    __m128i s = _mm_loadu_si128((const __m128i *)w), low4 = _mm_set1_epi8(15);
    *sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(s, low4));
    *m16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), low4));
}

/// Σ_s sc_s·Σ q·x of one block and token, in 8 int32 lanes.
AVX2 INLINE __m256i q2_K_block_sums(const uint8_t *w, __m256i sc16, const act_q8_k *x) {
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; h++) {
        __m256i sh = scales16_half(sc16, h);
        for (int j = 0; j < 4; j++) sumi = chunk_step(q2_K_values(w, h, j), chunk_scales16(sh, j), 4 * h + j, x, sumi);
    }
    return sumi;
}

/// Blocks b0..b0 + n − 1 (n ≤ 4) of one row and token, added to sum in order (a literal 4 for whole groups).
AVX2 INLINE float q2_K_group(const uint8_t *w, const act_q8_k *a, long b0, int n, float sum) {
    block_group g;
    block_group_clear(&g);
    for (int i = 0; i < n; i++) {
        const uint8_t *wb = w + 84 * (b0 + i);
        const act_q8_k *x = a + b0 + i;
        prefetch_ahead(wb, 84);
        __m256i sc16, m16;
        q2_K_scales_mins16(wb, &sc16, &m16);
        g.sumi[i] = q2_K_block_sums(wb, sc16, x);
        g.aux[i] = offset16(m16, x);
        g.d[i] = f16_scale(wb + 80);
        g.dmin[i] = f16_scale(wb + 82);
        g.ad[i] = x->d;
    }
    return q4_K_finish(&g, n, sum);
}

AVX2 float qk_dot_q2_K_avx2(const uint8_t *w, const act_q8_k *a, long nb) {
    return grouped_dot(q2_K_group, w, a, nb);
}

/// Prefill tile of nt (4 or 8) tokens: each chunk's values and scales built once for all of them; per token the
/// integer sums and float operations of the 1-token dot (ts: the 8-token tile's sums per 16, else NULL).
AVX2 INLINE void q2_K_tile(const uint8_t *w, const act_q8_k *const *a, long nb, float *out, int nt, const tile_sums *ts) {
    __m128 acc[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (long b = 0; b < nb; b++, w += 84) {
        prefetch_ahead(w, 84);
        __m256i sc16, m16, sumi[8];
        q2_K_scales_mins16(w, &sc16, &m16);
        for (int t = 0; t < nt; t++) sumi[t] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i sh = scales16_half(sc16, h);
            for (int j = 0; j < 4; j++) {
                __m256i u = q2_K_values(w, h, j), scales = chunk_scales16(sh, j);
                for (int t = 0; t < nt; t++) sumi[t] = chunk_step(u, scales, 4 * h + j, a[t] + b, sumi[t]);
            }
        }
        __m256i summ8 = ts ? offset8(m16, ts + b) : _mm256_setzero_si256();
        mins_tile_finish(acc, f16_scale(w + 80), f16_scale(w + 82), a, b, sumi, nt, m16, ts ? &summ8 : NULL);
    }
    for (int i = 0; i < nt / 4; i++) _mm_storeu_ps(out + 4 * i, acc[i]);
}

AVX2 void qk_dot4_q2_K_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]) {
    q2_K_tile(w, a, nb, out, 4, NULL);
}

AVX2 void qk_dot8_q2_K_avx2(const uint8_t *w, const act_q8_k *const a[8], long nb, float out[8], const tile_sums *ts) {
    q2_K_tile(w, a, nb, out, 8, ts);
}
#endif
