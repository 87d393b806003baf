// Repacked ("x16") IQ4_XS, Q3_K and Q2_K: 16 rows × one 256-column super-block per packed block, the bytes of
// the 16 ggml blocks it replaces, only moved (quant_x16.c has the dispatch and the contract, quant_x16_k.c the
// Q4_K / Q5_K / Q6_K layouts this follows). Activations are qk_quantize_act's act_q8_k blocks as they are.
//
// IQ4_XS (2176 bytes = 16 × 136): kvalues_iq4nl[nibble] as u8 = value + 128 (vpshufb), the −128 back per
// sub-block through −128·Σx; sub-block scale ls − 32 from 4 low bits (scales_l) and 2 high bits (scales_h):
//   d[16] f16, scales_h[16] u16                                                                     64 bytes
//   scales_l[4][16]  byte i of row r's scales_l at [i][r]                                              64 bytes
//   qs[8][4][64]     sub-block ib, chunk c: byte 4r+e = row r's qs[16ib+4c+e] (low nibble column
//                    32ib+4c+e, high nibble 32ib+16+4c+e)                                             2048 bytes
// Q3_K (16 × 108 = 1728 bytes per super-block, a multiple of 64; the scales d of all super-blocks, 32 bytes
// each, after the group's last block, as Q6_K): u = 2 low bits + 4·hmask bit ∈ [0, 7] stands for u − 4 (ggml
// subtracts 4 where the hmask bit is clear), the −4 back through −4·Σ sc·Σx:
//   scales[12][16]   byte i of row r's 12 packed 6-bit scales at [i][r] (unpacked in-kernel)          192 bytes
//   hmask[8][64]     chunk c: byte 4r+e = row r's hmask[4c+e]; bit 4h+j: column 128h+32j+4c+e         512 bytes
//   qs[2][8][64]     half h, chunk c: byte 4r+e = row r's qs[32h+4c+e]; bits 2j..2j+1: column
//                    128h+32j+4c+e                                                                    1024 bytes
// Q2_K (1344 bytes = 16 × 84): Q3_K's 2-bit planes, 4-bit scale and 4-bit min per 16 columns:
//   d[16], dmin[16]  f16                                                                             64 bytes
//   scales[8][16][2] pair i, row r: scales[2i], scales[2i+1] (one int16 pair per lane once widened)  256 bytes
//   qs[2][8][64]     as Q3_K's                                                                        1024 bytes
//
// Per output and super-block the float work is fixed: IQ4_XS acc = fma(sumi, d·d_x, acc) (offset inside sumi);
// Q3_K acc = fma(sumi − 4·offset, d·d_x, acc); Q2_K acc = fma(sumi, d·d_x, acc) then fma(−summ, dmin·d_x, acc).
// The integer sums are exact, so the VNNI tiles and the plain twin agree bit for bit whatever the token count.
#include "CKernels.h"
#include "quant_internal.h"
#include <math.h>
#include <string.h>

/// Moves row r's ggml block b to (unpack = 0) or from (1) its bytes in the packed group `group` (16 rows × nb
/// super-blocks). Repack, unpack and the plain twin all read through this map.
void qk_x16_k2_block(int type, uint8_t *group, long nb, long b, int r, uint8_t *row, int unpack) {
    uint8_t *packed = group + b * (type == QK_IQ4_XS ? X16_IQ4_XS_BLOCK : type == QK_Q3_K ? X16_Q3_K_BLOCK : X16_Q2_K_BLOCK);
#define MOVE(P, G) do { if (unpack) row[G] = packed[P]; else packed[P] = row[G]; } while (0)
    switch (type) {
    case QK_IQ4_XS: // ggml: d @0, scales_h @2, scales_l[4] @4, qs[128] @8
        for (int i = 0; i < 2; i++) {
            MOVE(2 * r + i, i);
            MOVE(32 + 2 * r + i, 2 + i);
        }
        for (int i = 0; i < 4; i++) MOVE(64 + 16 * i + r, 4 + i);
        for (int ib = 0; ib < 8; ib++)
            for (int c = 0; c < 4; c++)
                for (int e = 0; e < 4; e++) MOVE(128 + 256 * ib + 64 * c + 4 * r + e, 8 + 16 * ib + 4 * c + e);
        break;
    case QK_Q3_K: // ggml: hmask[32] @0, qs[64] @32, scales[12] @96, d @108
        for (int i = 0; i < 12; i++) MOVE(16 * i + r, 96 + i);
        for (int c = 0; c < 8; c++)
            for (int e = 0; e < 4; e++) {
                MOVE(192 + 64 * c + 4 * r + e, 4 * c + e);
                for (int h = 0; h < 2; h++) MOVE(704 + 512 * h + 64 * c + 4 * r + e, 32 + 32 * h + 4 * c + e);
            }
        packed = group + nb * X16_Q3_K_BLOCK + 32 * b; // the scales d after the last block
        for (int i = 0; i < 2; i++) MOVE(2 * r + i, 108 + i);
        break;
    case QK_Q2_K: // ggml: scales[16] @0, qs[64] @16, d @80, dmin @82
        for (int i = 0; i < 2; i++) {
            MOVE(2 * r + i, 80 + i);
            MOVE(32 + 2 * r + i, 82 + i);
        }
        for (int s = 0; s < 16; s++) MOVE(64 + 32 * (s / 2) + 2 * r + s % 2, s);
        for (int h = 0; h < 2; h++)
            for (int c = 0; c < 8; c++)
                for (int e = 0; e < 4; e++) MOVE(320 + 512 * h + 64 * c + 4 * r + e, 16 + 32 * h + 4 * c + e);
        break;
    default: qk_unknown_type("qk_x16_k2_block", type);
    }
#undef MOVE
}

/// ggml's Q3_K scale unpacking (kmask1/kmask2): scale s (6 bits, before the −32) from the 12 bytes at w.
static int q3_K_scale(const uint8_t *w, int s) {
    return ((w[s % 8] >> (4 * (s / 8))) & 0xF) | (((w[8 + s % 4] >> (2 * (s / 4))) & 3) << 4);
}

// MARK: - Plain twin

/// Super-block b of row r (read back from the packed group) against one token, added to `acc` with the
/// kernel's float operations.
float qk_x16_k2_dot_ref(int type, const uint8_t *group, long nb, long b, int r, const act_q8_k *a, float acc) {
    uint8_t w[136];
    qk_x16_k2_block(type, (uint8_t *)group, nb, b, r, w, 1);
    uint16_t dh, mh;
    if (type == QK_IQ4_XS) {
        int sumi = 0;
        uint16_t hi;
        memcpy(&hi, w + 2, 2);
        for (int ib = 0; ib < 8; ib++) {
            int ls = ((w[4 + ib / 2] >> (4 * (ib % 2))) & 0xF) | (((hi >> (2 * ib)) & 3) << 4);
            int s = -128 * (a->sums[2 * ib] + a->sums[2 * ib + 1]);
            for (int l = 0; l < 16; l++) {
                uint8_t q = w[8 + 16 * ib + l];
                s += iq4nl_u8[q & 0xF] * a->q[32 * ib + l] + iq4nl_u8[q >> 4] * a->q[32 * ib + 16 + l];
            }
            sumi += (ls - 32) * s;
        }
        memcpy(&dh, w, 2);
        return fmaf((float)sumi, qk_f16_to_f32(dh) * a->d, acc);
    }
    // Q2_K, Q3_K (qk_x16_k2_block rejected anything else): sub-block s = 8h + 2j + part is columns 16s..16s+15,
    // bits 2j..2j+1 of qs[32h + 16part + l] (ggml dequantize_row_q2_K / q3_K).
    int q3 = type == QK_Q3_K, sumi = 0, summ = 0;
    const uint8_t *qs = w + (q3 ? 32 : 16);
    for (int s = 0; s < 16; s++) {
        int h = s / 8, j = s % 8 / 2, part = s % 2, dot = 0;
        for (int l = 0; l < 16; l++) {
            int u = (qs[32 * h + 16 * part + l] >> (2 * j)) & 3;
            if (q3) u += 4 * ((w[16 * part + l] >> (4 * h + j)) & 1);
            dot += u * a->q[16 * s + l];
        }
        int sc = q3 ? q3_K_scale(w + 96, s) - 32 : w[s] & 0xF, m = q3 ? 4 * sc : w[s] >> 4;
        sumi += sc * dot;
        summ += m * a->sums[s];
    }
    if (q3) {
        memcpy(&dh, w + 108, 2);
        return fmaf((float)(sumi - summ), qk_f16_to_f32(dh) * a->d, acc);
    }
    memcpy(&dh, w + 80, 2);
    memcpy(&mh, w + 82, 2);
    acc = fmaf((float)sumi, qk_f16_to_f32(dh) * a->d, acc);
    return fmaf(-(float)summ, qk_f16_to_f32(mh) * a->d, acc);
}

// MARK: - AVX-512 VNNI

#if defined(__x86_64__)

#define X16_TILE 4 // tokens per tile: 4 × 4 sub-block accumulators stays within the 32 zmm registers

/// NT tokens × 16 rows of one IQ4_XS group: per sub-block the 8 weight vectors are unpacked (nibbles, table)
/// once for the NT tokens, then per token x16_block_dot from −128·Σx and one vpmulld by the scale.
VNNI INLINE void x16_iq4_xs_tile(const uint8_t *gp, long nb, const act_q8_k *a, long stride, int nt, float *y, long ldy) {
    const __m512i low4 = _mm512_set1_epi8(0x0F), mask4 = _mm512_set1_epi32(0xF), mask2 = _mm512_set1_epi32(3);
    const __m512i lut = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)iq4nl_u8));
    __m512 acc[X16_TILE];
    for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
    for (long b = 0; b < nb; b++) {
        const uint8_t *blk = gp + b * X16_IQ4_XS_BLOCK;
        __m512i sh = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(blk + 32)));
        __m512i isum[X16_TILE];
        for (int t = 0; t < nt; t++) isum[t] = _mm512_setzero_si512();
        for (int ib = 0; ib < 8; ib++) {
            __m512i sl = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + 64 + 16 * (ib / 2))));
            __m512i sc = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(sl, 4 * (ib % 2)), mask4),
                                         _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(sh, 2 * ib), mask2), 4));
            sc = _mm512_sub_epi32(sc, _mm512_set1_epi32(32));
            __m512i w[8];
            for (int c = 0; c < 4; c++) {
                __m512i n = _mm512_loadu_si512((const void *)(blk + 128 + 256 * ib + 64 * c));
                w[c] = _mm512_shuffle_epi8(lut, _mm512_and_si512(n, low4));
                w[4 + c] = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(n, 4), low4));
            }
            for (int t = 0; t < nt; t++) {
                const act_q8_k *x = a + t * stride + b;
                __m512i s = x16_block_dot(-128 * (x->sums[2 * ib] + x->sums[2 * ib + 1]), w, x->q + 32 * ib);
                isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(s, sc));
            }
        }
        __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        for (int t = 0; t < nt; t++)
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(d, _mm512_set1_ps(a[t * stride + b].d)), acc[t]);
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

/// Q3_K's 16 scales of 16 rows as 8 vectors of int16 pairs (sc[2i] − 32, sc[2i+1] − 32) per row lane:
/// q3_K_scale on every row at once, S[i] = byte i of every row's 12 scale bytes.
VNNI INLINE void q3_K_x16_scales(const uint8_t *blk, __m512i P[8]) {
    __m128i S[12], sc[16];
    for (int i = 0; i < 12; i++) S[i] = _mm_loadu_si128((const __m128i *)(blk + 16 * i));
    for (int s = 0; s < 16; s++) {
        __m128i lo = _mm_and_si128(_mm_srli_epi16(S[s % 8], 4 * (s / 8)), _mm_set1_epi8(0x0F));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(S[8 + s % 4], 2 * (s / 4)), _mm_set1_epi8(3));
        sc[s] = _mm_or_si128(lo, _mm_slli_epi16(hi, 4));
    }
    for (int i = 0; i < 8; i++) {
        __m512i p = _mm512_or_si512(_mm512_cvtepu8_epi32(sc[2 * i]), _mm512_slli_epi32(_mm512_cvtepu8_epi32(sc[2 * i + 1]), 16));
        P[i] = _mm512_sub_epi16(p, _mm512_set1_epi16(32));
    }
}

/// NT tokens × 16 rows of one Q2_K (q3 = 0) or Q3_K (q3 = 1) group, Q6_K's loop: per (half h, quarter qt) four
/// sub-blocks advance together, each 64-byte qs chunk supplying 2 bits of 4 columns of 4 sub-blocks (Q3_K: +4
/// where the hmask chunk's bit is set). The min (Q2_K) or −4 offset (Q3_K) term is one vpdpwssd per pair of
/// sub-blocks per token. `nt` and `q3` are compile-time constants at each call site.
VNNI INLINE void x16_q23_K_tile(const uint8_t *gp, long nb, const act_q8_k *a, long stride, int nt, float *y, long ldy,
                                int q3) {
    const __m512i three = _mm512_set1_epi8(3), four = _mm512_set1_epi8(4);
    __m512 acc[X16_TILE];
    for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
    if (q3) x16_prefetch_group_scales(gp, nb, X16_Q3_K_BLOCK);
    for (long b = 0; b < nb; b++) {
        const uint8_t *blk = gp + b * (q3 ? X16_Q3_K_BLOCK : X16_Q2_K_BLOCK), *qs = blk + (q3 ? 704 : 320);
        __m512i P[8], isum[X16_TILE], msum[X16_TILE];
        if (q3) q3_K_x16_scales(blk, P);
        else
            for (int i = 0; i < 8; i++) P[i] = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(blk + 64 + 32 * i))); // sc | m << 4
        for (int t = 0; t < nt; t++) {
            const act_q8_k *x = a + t * stride + b;
            __m512i o = _mm512_setzero_si512();
            for (int i = 0; i < 8; i++)
                o = _mm512_dpwssd_epi32(o, q3 ? P[i] : _mm512_srli_epi16(P[i], 4), x16_word((const int8_t *)(x->sums + 2 * i)));
            isum[t] = q3 ? _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(o, 2)) : _mm512_setzero_si512();
            msum[t] = o;
        }
        if (!q3)
            for (int i = 0; i < 8; i++) P[i] = _mm512_and_si512(P[i], _mm512_set1_epi16(0xF));
        for (int h = 0; h < 2; h++) {
            for (int qt = 0; qt < 2; qt++) {
                __m512i s[X16_TILE][4];
                for (int t = 0; t < nt; t++) s[t][0] = s[t][1] = s[t][2] = s[t][3] = _mm512_setzero_si512();
                for (int cc = 0; cc < 4; cc++) {
                    int c = 4 * qt + cc;
                    __m512i Q = _mm512_loadu_si512((const void *)(qs + 512 * h + 64 * c)), w[4];
                    __m512i H = q3 ? _mm512_loadu_si512((const void *)(blk + 192 + 64 * c)) : Q;
                    for (int j = 0; j < 4; j++) { // columns 128h + 32j + 4c + e
                        w[j] = _mm512_and_si512(_mm512_srli_epi16(Q, 2 * j), three);
                        if (q3) w[j] = _mm512_mask_add_epi8(w[j], _mm512_test_epi8_mask(H, _mm512_set1_epi8((char)(1 << (4 * h + j)))), w[j], four);
                    }
                    for (int t = 0; t < nt; t++) {
                        const int8_t *q = a[t * stride + b].q + 128 * h + 4 * c;
                        for (int j = 0; j < 4; j++) s[t][j] = _mm512_dpbusd_epi32(s[t][j], w[j], x16_word(q + 32 * j));
                    }
                }
                for (int j = 0; j < 4; j++) { // sub-block 8h + 2j + qt: pair 4h + j, half qt of the pair
                    __m512i sc = qt == 0 ? _mm512_srai_epi32(_mm512_slli_epi32(P[4 * h + j], 16), 16) : _mm512_srai_epi32(P[4 * h + j], 16);
                    for (int t = 0; t < nt; t++) isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(s[t][j], sc));
                }
            }
        }
        __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(q3 ? gp + nb * X16_Q3_K_BLOCK + 32 * b : blk)));
        __m512 dmin = q3 ? d : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32)));
        for (int t = 0; t < nt; t++) {
            __m512 dx = _mm512_set1_ps(a[t * stride + b].d);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(d, dx), acc[t]);
            if (!q3) acc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum[t]), _mm512_mul_ps(dmin, dx), acc[t]);
        }
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

#define X16_K2_TILES(CALL) do {                                                                   \
        long t = 0;                                                                             \
        for (; t + X16_TILE <= tokens; t += X16_TILE) CALL(a + t * nb, X16_TILE, y + t * ldy + 16 * g); \
        for (; t < tokens; t++) CALL(a + t * nb, 1, y + t * ldy + 16 * g);                       \
    } while (0)

/// Groups [group0, group1) × every token: tiles of X16_TILE tokens, then single tokens through the same code.
VNNI void qk_x16_k2_gemm_vnni(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                              long group0, long group1) {
    long nb = k / 256, gb = qk_x16_bytes(type, 16, k);
    const act_q8_k *a = (const act_q8_k *)xq;
    for (long g = group0; g < group1; g++) {
        const uint8_t *gp = (const uint8_t *)packed + g * gb;
#define IQ4(A, NT, Y) x16_iq4_xs_tile(gp, nb, A, nb, NT, Y, ldy)
#define Q2(A, NT, Y) x16_q23_K_tile(gp, nb, A, nb, NT, Y, ldy, 0)
#define Q3(A, NT, Y) x16_q23_K_tile(gp, nb, A, nb, NT, Y, ldy, 1)
        switch (type) {
        case QK_IQ4_XS: X16_K2_TILES(IQ4); break;
        case QK_Q2_K: X16_K2_TILES(Q2); break;
        case QK_Q3_K: X16_K2_TILES(Q3); break;
        default: qk_unknown_type("qk_x16_k2_gemm_vnni", type);
        }
#undef IQ4
#undef Q2
#undef Q3
    }
}
#endif
