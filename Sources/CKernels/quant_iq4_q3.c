// Integer dots for IQ4_XS and Q3_K rows in the ggml layout (what AVX2 CPUs run; AVX-512 VNNI CPUs run the
// repacked x16 kernels of quant_x16_k2.c), each with its plain twin; dispatched from qk_qgemv in quant.c. block_iq4_xs
// {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}: sub-block ib (32 elements) has the 6-bit scale
// ls = low nibble ib of scales_l | 2 bits ib of scales_h << 4, and value kvalues_iq4nl[nibble] · d · (ls − 32);
// element 32·ib + j is the low nibble of qs[16·ib + j], element 32·ib + 16 + j its high nibble
// (ggml dequantize_row_iq4_xs). Activations: act_q8_k (one scale per 256).
#include "quant_internal.h"


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
                s += kvalues_iq4nl[w[8 + 16 * ib + j] & 0xF] * a[b].q[32 * ib + j];
                s += kvalues_iq4nl[w[8 + 16 * ib + j] >> 4] * a[b].q[32 * ib + 16 + j];
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
/// Sub-block ib's 32 levels as int8 (one vpshufb), in element order: the 16 bytes in both halves (one broadcast
/// load), the high half shifted right by 4 (vpsrlvd: a byte's high nibble lands in its own low nibble), masked.
AVX2 INLINE __m256i iq4_xs_levels(const uint8_t *w, int ib) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl));
    __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(w + 8 + 16 * ib)));
    __m256i idx = _mm256_and_si256(_mm256_srlv_epi32(q, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)), _mm256_set1_epi8(0x0F));
    return _mm256_shuffle_epi8(table, idx);
}

/// Sub-block ib against one activation block, added to sumi: |level| × (x with the level's sign) in pairs
/// (≤ 2·127·127, no int16 saturation), then × (ls − 32) into int32 lanes. Shared by the 1- and 4-token dots.
AVX2 INLINE __m256i iq4_xs_step(__m256i v, __m256i av, short ls, const act_q8_k *x, int ib, __m256i sumi) {
    __m256i xq = _mm256_loadu_si256((const __m256i *)(x->q + 32 * ib));
    __m256i p = _mm256_maddubs_epi16(av, _mm256_sign_epi8(xq, v));
    return _mm256_add_epi32(sumi, _mm256_madd_epi16(p, _mm256_set1_epi16(ls)));
}

/// Blocks b0..b0 + n − 1 (n ≤ 4) of one row and token, added to sum in order (a literal 4 for whole groups).
AVX2 INLINE float iq4_xs_group(const uint8_t *w, const act_q8_k *a, long b0, int n, float sum) {
    block_group g;
    block_group_clear(&g);
    for (int i = 0; i < n; i++) {
        const uint8_t *wb = w + 136 * (b0 + i);
        prefetch_ahead(wb, 136);
        __m256i sumi = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++) {
            __m256i v = iq4_xs_levels(wb, ib);
            sumi = iq4_xs_step(v, _mm256_sign_epi8(v, v), (short)iq4_xs_scale(wb, ib), a + b0 + i, ib, sumi);
        }
        g.sumi[i] = sumi;
        g.d[i] = f16_scale(wb);
        g.ad[i] = a[b0 + i].d;
    }
    return scaled_finish(&g, n, sum);
}

AVX2 float qk_dot_iq4_xs_avx2(const uint8_t *w, const act_q8_k *a, long nb) {
    return grouped_dot(iq4_xs_group, w, a, nb);
}

/// Prefill tile of nt (4 or 8) tokens: each sub-block's levels looked up once for all of them; per token the
/// integer sums and float operations of the 1-token dot.
AVX2 INLINE void iq4_xs_tile(const uint8_t *w, const act_q8_k *const *a, long nb, float *out, int nt) {
    __m128 acc[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (long b = 0; b < nb; b++, w += 136) {
        prefetch_ahead(w, 136);
        __m256i sumi[8];
        for (int j = 0; j < nt; j++) sumi[j] = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++) {
            __m256i v = iq4_xs_levels(w, ib), av = _mm256_sign_epi8(v, v);
            short ls = (short)iq4_xs_scale(w, ib);
            for (int j = 0; j < nt; j++) sumi[j] = iq4_xs_step(v, av, ls, a[j] + b, ib, sumi[j]);
        }
        scaled_tile(acc, f16_scale(w), a, b, sumi, nt);
    }
    for (int i = 0; i < nt / 4; i++) _mm_storeu_ps(out + 4 * i, acc[i]);
}

AVX2 void qk_dot4_iq4_xs_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]) {
    iq4_xs_tile(w, a, nb, out, 4);
}

AVX2 void qk_dot8_iq4_xs_avx2(const uint8_t *w, const act_q8_k *const a[8], long nb, float out[8], const tile_sums *ts) {
    (void)ts;
    iq4_xs_tile(w, a, nb, out, 8);
}
#endif

// MARK: - Q3_K

// block_q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}: element 128h + 32j + l (h < 2, j < 4, l < 32) is
// ((qs[32h + l] >> 2j) & 3) − (bit 4h + j of hmask[l] ? 0 : 4), in sub-block 8h + 2j + l / 16 whose 6-bit scale
// (minus 32) comes from the 12 scale bytes (ggml dequantize_row_q3_K).

/// The 16 sub-block scales of a Q3_K block, minus 32.
INLINE void q3_K_scales(const uint8_t *w, int8_t out[16]) {
    uint32_t aux[4];
    memcpy(aux, w + 96, 12);
    const uint32_t tmp = aux[2], k1 = 0x03030303u, k2 = 0x0F0F0F0Fu;
    aux[2] = ((aux[0] >> 4) & k2) | (((tmp >> 4) & k1) << 4);
    aux[3] = ((aux[1] >> 4) & k2) | (((tmp >> 6) & k1) << 4);
    aux[0] = (aux[0] & k2) | (((tmp >> 0) & k1) << 4);
    aux[1] = (aux[1] & k2) | (((tmp >> 2) & k1) << 4);
    memcpy(out, aux, 16);
    for (int s = 0; s < 16; s++) out[s] = (int8_t)(out[s] - 32);
}

/// Σ_blocks d_w·d_x·Σ_s scale_s·Σ q·x.
float qk_dot_q3_K_ref(const uint8_t *w, const act_q8_k *a, long nb) {
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 110) {
        int8_t sc[16];
        q3_K_scales(w, sc);
        int sumi = 0;
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 4; j++)
                for (int part = 0; part < 2; part++) {
                    int s = 0;
                    for (int l = 16 * part; l < 16 * part + 16; l++) {
                        int q = ((w[32 + 32 * h + l] >> (2 * j)) & 3) - ((w[l] >> (4 * h + j)) & 1 ? 0 : 4);
                        s += q * a[b].q[128 * h + 32 * j + l];
                    }
                    sumi += sc[8 * h + 2 * j + part] * s;
                }
        uint16_t d;
        memcpy(&d, w + 108, 2);
        sum += qk_f16_to_f32(d) * a[b].d * (float)sumi;
    }
    return sum;
}

#if defined(__x86_64__)
/// Elements 128h + 32j … + 31 plus 4, as u8 in [0, 7]: the two low bits, with 4 added where the hmask bit is set
/// (ggml: value = low − (bit ? 0 : 4)). Unsigned values go straight into vpmaddubsw, with no sign moved onto each
/// token's activations; the 4·Σx that the +4 adds is taken off once per block (offset16, as Q6_K's 32).
AVX2 INLINE __m256i q3_K_values4(const uint8_t *w, int h, int j, __m256i hmask) {
    __m256i lo = _mm256_and_si256(_mm256_srli_epi16(_mm256_loadu_si256((const __m256i *)(w + 32 + 32 * h)), 2 * j),
                                  _mm256_set1_epi8(3));
    int s = 4 * h + j; // bit s of each hmask byte → bit 2 (16-bit shifts: a byte's bit s stays in that byte)
    __m256i hb = s >= 2 ? _mm256_srli_epi16(hmask, s - 2) : _mm256_slli_epi16(hmask, 2 - s);
    return _mm256_or_si256(lo, _mm256_and_si256(hb, _mm256_set1_epi8(4)));
}

/// The 16 scales (minus 32) as int16: q3_K_scales in vector lanes (32-bit lane i takes aux[i % 2] >> 4·(i / 2) and
/// tmp >> 2i), with no trip through memory (a byte array stored and reloaded cost the 1-token dot ~10 %).
AVX2 INLINE __m256i q3_K_scales16(const uint8_t *w) {
    uint32_t aux[3];
    memcpy(aux, w + 96, 12);
    __m128i lo = _mm_srlv_epi32(_mm_setr_epi32((int)aux[0], (int)aux[1], (int)aux[0], (int)aux[1]), _mm_setr_epi32(0, 0, 4, 4));
    __m128i hi = _mm_srlv_epi32(_mm_set1_epi32((int)aux[2]), _mm_setr_epi32(0, 2, 4, 6));
    __m128i sc = _mm_or_si128(_mm_and_si128(lo, _mm_set1_epi8(0x0F)), _mm_slli_epi32(_mm_and_si128(hi, _mm_set1_epi8(3)), 4));
    return _mm256_cvtepi8_epi16(_mm_sub_epi8(sc, _mm_set1_epi8(32)));
}

/// Blocks b0..b0 + n − 1 (n ≤ 4) of one row and token, added to sum in order (a literal 4 for whole groups).
AVX2 INLINE float q3_K_group(const uint8_t *w, const act_q8_k *a, long b0, int n, float sum) {
    block_group g;
    block_group_clear(&g);
    for (int i = 0; i < n; i++) {
        const uint8_t *wb = w + 110 * (b0 + i);
        const act_q8_k *x = a + b0 + i;
        prefetch_ahead(wb, 110);
        __m256i sc16 = q3_K_scales16(wb), hmask = _mm256_loadu_si256((const __m256i *)wb), sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i sh = scales16_half(sc16, h);
            for (int j = 0; j < 4; j++) sumi = chunk_step(q3_K_values4(wb, h, j, hmask), chunk_scales16(sh, j), 4 * h + j, x, sumi);
        }
        g.sumi[i] = sumi;
        g.aux[i] = offset16(sc16, x);
        g.d[i] = f16_scale(wb + 108);
        g.ad[i] = x->d;
    }
    return offset_finish(&g, n, sum, 2);
}

AVX2 float qk_dot_q3_K_avx2(const uint8_t *w, const act_q8_k *a, long nb) {
    return grouped_dot(q3_K_group, w, a, nb);
}

/// Prefill tile of nt (4 or 8) tokens: each chunk's values and scales built once for all of them; per token the
/// integer sums and float operations of the 1-token dot.
AVX2 INLINE void q3_K_tile(const uint8_t *w, const act_q8_k *const *a, long nb, float *out, int nt, const tile_sums *ts) {
    __m128 acc[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (long b = 0; b < nb; b++, w += 110) {
        prefetch_ahead(w, 110);
        __m256i sc16 = q3_K_scales16(w), hmask = _mm256_loadu_si256((const __m256i *)w), sumi[8];
        for (int t = 0; t < nt; t++) sumi[t] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i sh = scales16_half(sc16, h);
            for (int j = 0; j < 4; j++) {
                __m256i u = q3_K_values4(w, h, j, hmask), scales = chunk_scales16(sh, j);
                for (int t = 0; t < nt; t++) sumi[t] = chunk_step(u, scales, 4 * h + j, a[t] + b, sumi[t]);
            }
        }
        offset_tile(acc, f16_scale(w + 108), a, b, sumi, sc16, 2, nt, ts ? ts + b : NULL);
    }
    for (int i = 0; i < nt / 4; i++) _mm_storeu_ps(out + 4 * i, acc[i]);
}

AVX2 void qk_dot4_q3_K_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]) {
    q3_K_tile(w, a, nb, out, 4, NULL);
}

AVX2 void qk_dot8_q3_K_avx2(const uint8_t *w, const act_q8_k *const a[8], long nb, float out[8], const tile_sums *ts) {
    q3_K_tile(w, a, nb, out, 8, ts);
}
#endif
