// Repacked ("x16") Q4_K, Q5_K and Q6_K: 16 rows × one 256-column super-block per packed block, the same bytes as the
// 16 ggml blocks it replaces, only moved (quant_x16.c has the Q8_0 layout, the dispatch and the contract).
//
// Q4_K (2304 bytes = 16 × 144):
//   d[16], dmin[16]  f16, row r at [r]                                                            64 bytes
//   scales[12][16]   byte i of row r's 12 packed 6-bit scales/mins at [i][r] (unpacked in-kernel)    192 bytes
//   qs[4][8][64]     pair p (columns 64p..64p+63), chunk j: byte 4r+e = row r's ggml qs[32p+4j+e], i.e.
//                    low nibble = column 64p+4j+e, high nibble = column 64p+32+4j+e                2048 bytes
// Q5_K (2816 bytes = 16 × 176): Q4_K's d, dmin and scales, then the fifth bits, then Q4_K's qs (at 768, not 256):
//   qh[8][64]        chunk j: byte 4r+e = row r's ggml qh[4j+e]; its bits 2p and 2p+1 are the fifth bits of
//                    the low and high nibbles of qs chunk j of pair p                                512 bytes
//   qs[4][8][64]     as Q4_K's                                                                       2048 bytes
//   The kernel loads the 8 qh chunks first, then the qs: one ascending stream through the block. With qh last
//   each block began by touching its end, and decode streamed at ~9 GB/s per core instead of Q4_K's ~28.
// Q6_K (16 × 210 bytes: 3328 per super-block, a multiple of 64 so every load stays within one cache line, and
// the 16 scales d of all super-blocks, 32 bytes each, after the group's last block), q+32 ∈ [0, 63] kept as
// ggml's 4-bit plane + 2-bit plane, in the order the kernel reads them (one ascending stream, as for Q5_K):
//   scales[8][16][2] int8: pair i, row r: sc[2i], sc[2i+1] (one int16 pair per lane once widened)   256 bytes
//   [2][8] × 192     half h, chunk c (c = 0..7), 64 bytes each, byte 4r+e of:
//                      qh: row r's qh[32h+4c+e] (bits 2s..2s+1: column 128h+32s+4c+e)
//                      ql: row r's ql[64h+4c+e] (low nibble column 128h+4c+e, high 128h+64+4c+e)
//                      ql: row r's ql[64h+32+4c+e] (low nibble column 128h+32+4c+e, high 128h+96+4c+e)  3072 bytes
// Activations are qk_quantize_act's act_q8_k blocks as they are: their int16 sums per 16 columns give the
// Q4_K mins term and the Q6_K −32 offset term with one vpdpwssd per pair of sums.
//
// Per output and super-block the float work is fixed: Q4_K and Q5_K acc = fma(sumi, d·d_x, acc) then
// acc = fma(−summ, dmin·d_x, acc); Q6_K acc = fma(sumi − 32·offset, d·d_x, acc). The integer sums are exact, so
// the VNNI tiles and the plain twin agree bit for bit whatever the token count.
#include "CKernels.h"
#include "quant_internal.h"
#include <math.h>
#include <string.h>

/// Moves row r's ggml block b to (unpack = 0) or from (1) its bytes in the packed group `group` (16 rows × nb
/// super-blocks). Repack, unpack and the plain twin all read through this map.
void qk_x16_k_block(int type, uint8_t *group, long nb, long b, int r, uint8_t *row, int unpack) {
    uint8_t *packed = group + b * (type == QK_Q4_K ? X16_Q4_K_BLOCK : type == QK_Q5_K ? X16_Q5_K_BLOCK : X16_Q6_K_BLOCK);
#define MOVE(P, G) do { if (unpack) row[G] = packed[P]; else packed[P] = row[G]; } while (0)
    switch (type) {
    case QK_Q4_K: case QK_Q5_K: {
        int qs = type == QK_Q5_K ? 48 : 16; // ggml offset of qs: Q5_K's qh[32] sits before it
        for (int i = 0; i < 2; i++) {
            MOVE(2 * r + i, i);
            MOVE(32 + 2 * r + i, 2 + i);
        }
        for (int i = 0; i < 12; i++) MOVE(64 + 16 * i + r, 4 + i);
        int q0 = type == QK_Q5_K ? X16_Q5_K_QS : 256; // packed offset of qs: Q5_K's qh chunks come first
        for (int p = 0; p < 4; p++)
            for (int j = 0; j < 8; j++)
                for (int e = 0; e < 4; e++) MOVE(q0 + 512 * p + 64 * j + 4 * r + e, qs + 32 * p + 4 * j + e);
        if (type == QK_Q5_K)
            for (int j = 0; j < 8; j++)
                for (int e = 0; e < 4; e++) MOVE(256 + 64 * j + 4 * r + e, 16 + 4 * j + e);
        break;
    }
    case QK_Q6_K:
        for (int h = 0; h < 2; h++)
            for (int c = 0; c < 8; c++)
                for (int e = 0; e < 4; e++) {
                    int o = 256 + 192 * (8 * h + c) + 4 * r + e;
                    MOVE(o, 128 + 32 * h + 4 * c + e);
                    MOVE(o + 64, 64 * h + 4 * c + e);
                    MOVE(o + 128, 64 * h + 32 + 4 * c + e);
                }
        for (int g = 0; g < 16; g++) MOVE(32 * (g / 2) + 2 * r + g % 2, 192 + g);
        packed = group + nb * X16_Q6_K_BLOCK + 32 * b; // the scales d after the last block
        for (int i = 0; i < 2; i++) MOVE(2 * r + i, 208 + i);
        break;
    default: qk_unknown_type("qk_x16_k_block", type);
    }
#undef MOVE
}

// MARK: - Plain twin

/// Super-block b of row r (read back from the packed group) against one token, added to `acc` with the
/// kernel's float operations.
float qk_x16_k_dot_ref(int type, const uint8_t *group, long nb, long b, int r, const act_q8_k *a, float acc) {
    uint8_t w[210];
    qk_x16_k_block(type, (uint8_t *)group, nb, b, r, w, 1);
    uint16_t dh, mh;
    if (type != QK_Q6_K) { // Q4_K, Q5_K: sub-block j is columns 32j.., fifth bit j of qh[l] (ggml dequantize_row_q5_K)
        int sc[8], m[8], sumi = 0, summ = 0, five = type == QK_Q5_K;
        q4_K_scales(w, sc, m);
        for (int j = 0; j < 8; j++) {
            int s = 0;
            for (int l = 0; l < 32; l++) {
                uint8_t q = w[(five ? 48 : 16) + 32 * (j / 2) + l];
                int v = (j % 2 == 0 ? q & 0xF : q >> 4) + (five ? ((w[16 + l] >> j) & 1) << 4 : 0);
                s += v * a->q[32 * j + l];
            }
            sumi += sc[j] * s;
            summ += m[j] * (a->sums[2 * j] + a->sums[2 * j + 1]);
        }
        memcpy(&dh, w, 2);
        memcpy(&mh, w + 2, 2);
        acc = fmaf((float)sumi, qk_f16_to_f32(dh) * a->d, acc);
        return fmaf(-(float)summ, qk_f16_to_f32(mh) * a->d, acc);
    }
    // Q6_K (qk_x16_k_block rejected anything else): column 128h + 32s + l has 4 bits from ql, 2 from qh.
    const int8_t *sc = (const int8_t *)(w + 192);
    int sumi = 0, offset = 0;
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++)
            for (int l = 0; l < 32; l++) {
                int col = 128 * h + 32 * s + l;
                uint8_t lo = w[64 * h + 32 * (s % 2) + l];
                int q = (s < 2 ? lo & 0xF : lo >> 4) | (((w[128 + 32 * h + l] >> (2 * s)) & 3) << 4);
                sumi += sc[col / 16] * q * a->q[col];
            }
    for (int g = 0; g < 16; g++) offset += sc[g] * a->sums[g];
    memcpy(&dh, w + 208, 2);
    return fmaf((float)(sumi - 32 * offset), qk_f16_to_f32(dh) * a->d, acc);
}

// MARK: - AVX-512 VNNI

#if defined(__x86_64__)

#define X16_TILE 4 // tokens per tile: 4 × (sub-block accumulators) stays within the 32 zmm registers


/// Q4_K sub-block j's scale (epi32 per row) and min (the same value in both int16 halves of each row's lane,
/// so one vpdpwssd against a (sums[2j], sums[2j+1]) word gives m_j·Σx over its 32 columns): ggml
/// get_scale_min_k4 on 16 rows at once, S[i] = byte i of every row's 12 scale bytes.
VNNI INLINE void q4_K_x16_scale(const __m128i S[12], int j, __m512i *sc, __m512i *m) {
    const __m128i m6 = _mm_set1_epi8(63), m4 = _mm_set1_epi8(0x0F), top = _mm_set1_epi8(0x30);
    __m128i s, n;
    if (j < 4) {
        s = _mm_and_si128(S[j], m6);
        n = _mm_and_si128(S[j + 4], m6);
    } else {
        s = _mm_or_si128(_mm_and_si128(S[j + 4], m4), _mm_and_si128(_mm_srli_epi16(S[j - 4], 2), top));
        n = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(S[j + 4], 4), m4), _mm_and_si128(_mm_srli_epi16(S[j], 2), top));
    }
    *sc = _mm512_cvtepu8_epi32(s);
    __m512i n32 = _mm512_cvtepu8_epi32(n);
    *m = _mm512_or_si512(n32, _mm512_slli_epi32(n32, 16));
}

/// NT tokens × 16 rows of one Q4_K (five = 0) or Q5_K (five = 1) group over all super-blocks. The nibbles of
/// each 64-byte chunk are split once for the NT tokens (Q5_K: +16 where the chunk's qh bit is set); per token
/// two vpdpbusd per chunk (low and high sub-block), one vpmulld per sub-block, one vpdpwssd per sub-block for
/// the mins, then the two fmas. `nt` and `five` are compile-time constants at each call site.
VNNI INLINE void x16_q4_K_tile(const uint8_t *gp, long nb, const act_q8_k *a, long stride, int nt, float *y, long ldy,
                               int five) {
    const __m512i low4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(16);
    __m512 acc[X16_TILE];
    for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
    for (long b = 0; b < nb; b++) {
        const uint8_t *blk = gp + b * (five ? X16_Q5_K_BLOCK : X16_Q4_K_BLOCK);
        // No software prefetch: the hardware prefetcher keeps up with this one stream, and 36 prefetches per
        // super-block cost more than they hid (single thread, DRAM-resident 65536×2048: ~28 vs ~5-20 GB/s with).
        __m128i S[12];
        for (int i = 0; i < 12; i++) S[i] = _mm_loadu_si128((const __m128i *)(blk + 64 + 16 * i));
        __m512i isum[X16_TILE], msum[X16_TILE];
        for (int t = 0; t < nt; t++) isum[t] = msum[t] = _mm512_setzero_si512();
        for (int p = 0; p < 4; p++) {
            __m512i sc0, sc1, m0, m1;
            q4_K_x16_scale(S, 2 * p, &sc0, &m0);
            q4_K_x16_scale(S, 2 * p + 1, &sc1, &m1);
            __m512i s0[X16_TILE], s1[X16_TILE];
            for (int t = 0; t < nt; t++) {
                const act_q8_k *x = a + t * stride + b;
                s0[t] = s1[t] = _mm512_setzero_si512();
                msum[t] = _mm512_dpwssd_epi32(msum[t], m0, x16_word((const int8_t *)(x->sums + 4 * p)));
                msum[t] = _mm512_dpwssd_epi32(msum[t], m1, x16_word((const int8_t *)(x->sums + 4 * p + 2)));
            }
            for (int j = 0; j < 8; j++) {
                __m512i P = _mm512_loadu_si512((const void *)(blk + (five ? X16_Q5_K_QS : 256) + 512 * p + 64 * j));
                __m512i lo = _mm512_and_si512(P, low4), hi = _mm512_and_si512(_mm512_srli_epi16(P, 4), low4);
                if (five) {
                    __m512i H = _mm512_loadu_si512((const void *)(blk + 256 + 64 * j));
                    lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(H, _mm512_set1_epi8((char)(1 << (2 * p)))), lo, sixteen);
                    hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(H, _mm512_set1_epi8((char)(2 << (2 * p)))), hi, sixteen);
                }
                for (int t = 0; t < nt; t++) {
                    const int8_t *q = a[t * stride + b].q + 64 * p + 4 * j;
                    s0[t] = _mm512_dpbusd_epi32(s0[t], lo, x16_word(q));
                    s1[t] = _mm512_dpbusd_epi32(s1[t], hi, x16_word(q + 32));
                }
            }
            for (int t = 0; t < nt; t++)
                isum[t] = _mm512_add_epi32(isum[t], _mm512_add_epi32(_mm512_mullo_epi32(s0[t], sc0), _mm512_mullo_epi32(s1[t], sc1)));
        }
        __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32)));
        for (int t = 0; t < nt; t++) {
            __m512 dx = _mm512_set1_ps(a[t * stride + b].d);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(d, dx), acc[t]);
            acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum[t]), _mm512_mul_ps(dmin, dx), acc[t]);
        }
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

/// NT tokens × 16 rows of one Q6_K group. Per (half h, quarter q) four sub-blocks advance together: each qh
/// chunk supplies the top 2 bits of 4 columns' worth of 4 sub-blocks, each ql chunk the low 4 bits of 2.
/// The integer sum starts at −32·offset (offset = Σ sc_g·Σx_g, vpdpwssd on the int16 scale pairs).
VNNI INLINE void x16_q6_K_tile(const uint8_t *gp, long nb, const act_q8_k *a, long stride, int nt, float *y, long ldy) {
    const __m512i low4 = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30);
    x16_prefetch_group_scales(gp, nb, X16_Q6_K_BLOCK);
    __m512 acc[X16_TILE];
    for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
    for (long b = 0; b < nb; b++) {
        const uint8_t *blk = gp + b * X16_Q6_K_BLOCK;
        // No software prefetch since the block is read in one ascending stream (scales first): one thread,
        // DRAM-resident, 3584×1024: 19.7 GB/s with the old order and 2 blocks prefetched, 21.3 with the new order
        // and the prefetch, 23.1 without it (probe 27-28).
        __m512i isum[X16_TILE];
        for (int t = 0; t < nt; t++) {
            const act_q8_k *x = a + t * stride + b;
            __m512i off = _mm512_setzero_si512();
            for (int i = 0; i < 8; i++) {
                __m512i sp = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(blk + 32 * i)));
                off = _mm512_dpwssd_epi32(off, sp, x16_word((const int8_t *)(x->sums + 2 * i)));
            }
            isum[t] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(off, 5));
        }
        for (int h = 0; h < 2; h++) {
            for (int qt = 0; qt < 2; qt++) {
                __m512i s[X16_TILE][4];
                for (int t = 0; t < nt; t++) s[t][0] = s[t][1] = s[t][2] = s[t][3] = _mm512_setzero_si512();
                for (int cc = 0; cc < 4; cc++) {
                    int c = 4 * qt + cc;
                    const uint8_t *chunk = blk + 256 + 192 * (8 * h + c);
                    __m512i H = _mm512_loadu_si512((const void *)chunk);
                    __m512i L0 = _mm512_loadu_si512((const void *)(chunk + 64));
                    __m512i L1 = _mm512_loadu_si512((const void *)(chunk + 128));
                    __m512i w[4] = { // columns 128h + 32s + 4c + e, s = 0..3
                        _mm512_or_si512(_mm512_and_si512(L0, low4), _mm512_and_si512(_mm512_slli_epi16(H, 4), top)),
                        _mm512_or_si512(_mm512_and_si512(L1, low4), _mm512_and_si512(_mm512_slli_epi16(H, 2), top)),
                        _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(L0, 4), low4), _mm512_and_si512(H, top)),
                        _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(L1, 4), low4), _mm512_and_si512(_mm512_srli_epi16(H, 2), top)),
                    };
                    for (int t = 0; t < nt; t++) {
                        const int8_t *q = a[t * stride + b].q + 128 * h + 4 * c;
                        for (int sb = 0; sb < 4; sb++) s[t][sb] = _mm512_dpbusd_epi32(s[t][sb], w[sb], x16_word(q + 32 * sb));
                    }
                }
                for (int sb = 0; sb < 4; sb++) { // sub-block 8h + 2sb + qt: pair 4h + sb, half qt of the pair
                    __m512i sp = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(blk + 32 * (4 * h + sb))));
                    __m512i sc = qt == 0 ? _mm512_srai_epi32(_mm512_slli_epi32(sp, 16), 16) : _mm512_srai_epi32(sp, 16);
                    for (int t = 0; t < nt; t++) isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(s[t][sb], sc));
                }
            }
        }
        __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gp + nb * X16_Q6_K_BLOCK + 32 * b)));
        for (int t = 0; t < nt; t++)
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(d, _mm512_set1_ps(a[t * stride + b].d)), acc[t]);
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

/// Groups [group0, group1) × every token: tiles of X16_TILE tokens, then single tokens through the same code.
VNNI void qk_x16_k_gemm_vnni(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                            long group0, long group1) {
    long nb = k / 256, gb = qk_x16_bytes(type, 16, k);
    const act_q8_k *a = (const act_q8_k *)xq;
    for (long g = group0; g < group1; g++) {
        const uint8_t *gp = (const uint8_t *)packed + g * gb;
        long t = 0;
        if (type == QK_Q4_K) {
            for (; t + X16_TILE <= tokens; t += X16_TILE) x16_q4_K_tile(gp, nb, a + t * nb, nb, X16_TILE, y + t * ldy + 16 * g, ldy, 0);
            for (; t < tokens; t++) x16_q4_K_tile(gp, nb, a + t * nb, nb, 1, y + t * ldy + 16 * g, ldy, 0);
        } else if (type == QK_Q5_K) {
            for (; t + X16_TILE <= tokens; t += X16_TILE) x16_q4_K_tile(gp, nb, a + t * nb, nb, X16_TILE, y + t * ldy + 16 * g, ldy, 1);
            for (; t < tokens; t++) x16_q4_K_tile(gp, nb, a + t * nb, nb, 1, y + t * ldy + 16 * g, ldy, 1);
        } else {
            for (; t + X16_TILE <= tokens; t += X16_TILE) x16_q6_K_tile(gp, nb, a + t * nb, nb, X16_TILE, y + t * ldy + 16 * g, ldy);
            for (; t < tokens; t++) x16_q6_K_tile(gp, nb, a + t * nb, nb, 1, y + t * ldy + 16 * g, ldy);
        }
    }
}
#endif
