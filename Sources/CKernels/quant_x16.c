// Repacked ("x16") quantised weights: 16 rows interleaved per block so that one 64-byte load holds 4 weights
// of each of 16 rows, and one vpdpbusd against a broadcast 4-byte word of activations advances 16 dot products
// at once (the layout llama.cpp's CPU "repack" buffers use for the same reason). The ggml layout (quant.c) gives
// one row's 32 weights per load instead, so every block's int32 lanes must be reduced and rescaled per row and
// per token; here one int32 lane is one row's block sum, the scale is applied once per block per 16 rows, and
// the loads stream through one contiguous buffer (decode) or stay in L1 across a tile of tokens (prefill).
//
// Every output is the same sequence of operations whatever the token count or the token's place in the tile,
// so results are bit-identical alone or batched, in one forward or in chunks. The plain twin
// (qk_x16_gemm_ref) reads the packed layout with scalar code; qk_x16_unpack restores the ggml bytes exactly.
// Q4_K, Q5_K and Q6_K layouts and tiles are in quant_x16_k.c; Q2_K, Q3_K and IQ4_XS in quant_x16_k2.c.
#include "CKernels.h"
#include "quant_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// MARK: - Q8_0 x16
//
// One group (16 rows) × one block (32 columns), 544 bytes — the size of the 16 ggml blocks it replaces:
//   d[16]     f16 scales, row r at d[r]                                     32 bytes
//   q[8][64]  chunk j (columns 4j..4j+3): row r's 4 weights at q[j][4r..], stored as u8 = w + 128 (= w ^ 0x80)
// vpdpbusd multiplies u8 × s8, so the +128 comes back per token and block as −128·Σx (act_q8_0c.c).

typedef struct { float d; int32_t c; int8_t q[32]; } act_q8_0c; // c = −128 · Σ q

/// The CPU check once, not on every matmul call (qk_x16_gemm runs per projection per token).
static int x16_vnni(void) {
    static int vnni = -1;
    if (vnni < 0) vnni = qk_has_avx512_vnni();
    return vnni;
}

int qk_x16_supported(int type) {
    switch (type) {
    case QK_Q8_0: case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: case QK_X16_K2: case QK_X16_LEGACY: return x16_vnni();
    default: return 0;
    }
}

long qk_x16_bytes(int type, long rows, long k) {
    switch (type) {
    case QK_Q8_0: return rows / 16 * (k / 32) * X16_Q8_0_BLOCK;
    case QK_Q4_K: return rows / 16 * (k / 256) * X16_Q4_K_BLOCK;
    case QK_Q5_K: return rows / 16 * (k / 256) * X16_Q5_K_BLOCK;
    case QK_IQ4_XS: return rows / 16 * (k / 256) * X16_IQ4_XS_BLOCK;
    case QK_Q3_K: return rows / 16 * (k / 256) * (X16_Q3_K_BLOCK + 32);
    case QK_Q2_K: return rows / 16 * (k / 256) * X16_Q2_K_BLOCK;
    case QK_Q6_K: return rows / 16 * (k / 256) * (X16_Q6_K_BLOCK + 32);
    case QK_X16_LEGACY: return qk_x16l_bytes(type, rows, k);
    default: qk_unknown_type("qk_x16_bytes", type);
    }
}

long qk_x16_act_bytes(int type, long k) {
    switch (type) {
    case QK_Q8_0: return k / 32 * (long)sizeof(act_q8_0c);
    case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: case QK_X16_K2:
        return qk_act_bytes(QK_Q4_K, k); // act_q8_k as it is: its sums per 16 suffice
    case QK_X16_LEGACY: return qk_x16l_act_bytes(k);
    default: qk_unknown_type("qk_x16_act_bytes", type);
    }
}

void qk_x16_quantize_act(int type, const float *x, long k, long tokens, void *out) {
    switch (type) {
    case QK_Q8_0: {
        // Same per-block quantisation as qk_quantize_act (its act_q8_0 blocks), plus the offset term.
        for (long t = 0; t < tokens; t++) {
            act_q8_0c *a = (act_q8_0c *)out + t * (k / 32);
            for (long b = 0; b < k / 32; b++) {
                int s;
                a[b].d = qk_quantize_block(x + t * k + b * 32, 32, a[b].q, &s);
                a[b].c = -128 * s;
            }
        }
        break;
    }
    case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: case QK_X16_K2: qk_quantize_act(QK_Q4_K, x, k, tokens, out); break;
    case QK_X16_LEGACY: qk_x16l_quantize_act(type, x, k, tokens, out); break;
    default: qk_unknown_type("qk_x16_quantize_act", type);
    }
}

/// Group pointer of row group `g` (rows 16g..16g+15).
static const uint8_t *x16_group(int type, const void *packed, long k, long g) {
    return (const uint8_t *)packed + g * qk_x16_bytes(type, 16, k);
}

/// The 256-column formats: every row's ggml block to (unpack = 0) or from (1) its place in the packed blocks.
static void x16_k_move(int type, void *ggml, long k, void *packed, long group0, long group1, int unpack) {
    static const short ggmlBytes[] = {[QK_Q2_K] = 84, [QK_Q3_K] = 110, [QK_Q4_K] = 144, [QK_Q5_K] = 176,
                                      [QK_Q6_K] = 210, [QK_IQ4_XS] = 136};
    long nb = k / 256, bb = ggmlBytes[type];
    int k2 = type == QK_Q2_K || type == QK_Q3_K || type == QK_IQ4_XS;
    for (long g = group0; g < group1; g++)
        for (long b = 0; b < nb; b++)
            for (int r = 0; r < 16; r++)
                (k2 ? qk_x16_k2_block : qk_x16_k_block)(type, (uint8_t *)x16_group(type, packed, k, g), nb, b, r,
                                                        (uint8_t *)ggml + ((16 * g + r) * nb + b) * bb, unpack);
}

/// Plain twin of qk_x16_repack (quant_x16_repack.c): every byte through the layout maps that unpack also reads.
void qk_x16_repack_ref(int type, const void *src, long k, void *dst, long group0, long group1) {
    switch (type) {
    case QK_Q8_0: {
        long nb = k / 32, rb = nb * 34;
        for (long g = group0; g < group1; g++) {
            uint8_t *o = (uint8_t *)x16_group(type, dst, k, g);
            for (long b = 0; b < nb; b++, o += X16_Q8_0_BLOCK) {
                for (int r = 0; r < 16; r++) {
                    const uint8_t *blk = (const uint8_t *)src + (16 * g + r) * rb + b * 34;
                    memcpy(o + 2 * r, blk, 2);
                    for (int j = 0; j < 8; j++)
                        for (int e = 0; e < 4; e++) o[32 + 64 * j + 4 * r + e] = blk[2 + 4 * j + e] ^ 0x80;
                }
            }
        }
        break;
    }
    case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: case QK_X16_K2: x16_k_move(type, (void *)src, k, dst, group0, group1, 0); break;
    case QK_X16_LEGACY: qk_x16l_repack_ref(type, src, k, dst, group0, group1); break;
    default: qk_unknown_type("qk_x16_repack_ref", type);
    }
}

void qk_x16_unpack(int type, const void *packed, long k, void *dst, long group0, long group1) {
    switch (type) {
    case QK_Q8_0: {
        long nb = k / 32, rb = nb * 34;
        for (long g = group0; g < group1; g++) {
            const uint8_t *p = x16_group(type, packed, k, g);
            for (long b = 0; b < nb; b++, p += X16_Q8_0_BLOCK) {
                for (int r = 0; r < 16; r++) {
                    uint8_t *blk = (uint8_t *)dst + (16 * g + r) * rb + b * 34;
                    memcpy(blk, p + 2 * r, 2);
                    for (int j = 0; j < 8; j++)
                        for (int e = 0; e < 4; e++) blk[2 + 4 * j + e] = p[32 + 64 * j + 4 * r + e] ^ 0x80;
                }
            }
        }
        break;
    }
    case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: case QK_X16_K2: x16_k_move(type, dst, k, (void *)packed, group0, group1, 1); break;
    case QK_X16_LEGACY: qk_x16l_unpack(type, packed, k, dst, group0, group1); break;
    default: qk_unknown_type("qk_x16_unpack", type);
    }
}

// MARK: - Plain twin

/// The packed layout read one scalar at a time, in the kernel's order of operations per output: the block's
/// integer sum (offset included) to f32, times d_w·d_x, added to the running sum block by block.
void qk_x16_gemm_ref(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                     long group0, long group1) {
    switch (type) {
    case QK_Q8_0: {
        long nb = k / 32;
        for (long g = group0; g < group1; g++) {
            const uint8_t *gp = x16_group(type, packed, k, g);
            for (long t = 0; t < tokens; t++) {
                const act_q8_0c *a = (const act_q8_0c *)xq + t * nb;
                for (int r = 0; r < 16; r++) {
                    float acc = 0;
                    for (long b = 0; b < nb; b++) {
                        const uint8_t *blk = gp + b * X16_Q8_0_BLOCK;
                        uint16_t dh;
                        memcpy(&dh, blk + 2 * r, 2);
                        int32_t s = a[b].c;
                        for (int j = 0; j < 8; j++)
                            for (int e = 0; e < 4; e++) s += (int)blk[32 + 64 * j + 4 * r + e] * a[b].q[4 * j + e];
                        acc = fmaf((float)s, qk_f16_to_f32(dh) * a[b].d, acc);
                    }
                    y[t * ldy + 16 * g + r] = acc;
                }
            }
        }
        break;
    }
    case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: case QK_X16_K2: {
        long nb = k / 256;
        int k2 = type == QK_Q2_K || type == QK_Q3_K || type == QK_IQ4_XS;
        for (long g = group0; g < group1; g++)
            for (long t = 0; t < tokens; t++)
                for (int r = 0; r < 16; r++) {
                    float acc = 0;
                    for (long b = 0; b < nb; b++)
                        acc = (k2 ? qk_x16_k2_dot_ref : qk_x16_k_dot_ref)(type, x16_group(type, packed, k, g), nb, b, r,
                                                                         (const act_q8_k *)xq + t * nb + b, acc);
                    y[t * ldy + 16 * g + r] = acc;
                }
        break;
    }
    case QK_X16_LEGACY: qk_x16l_gemm_ref(type, packed, k, xq, tokens, y, ldy, group0, group1); break;
    default: qk_unknown_type("qk_x16_gemm_ref", type);
    }
}

// MARK: - AVX-512 VNNI

#if defined(__x86_64__)

/// NT tokens × 16 rows over all blocks of one group. The weights of a block (8 × 64 bytes) are loaded once for
/// the NT tokens; per token: int32 lanes start at the offset term, take 8 vpdpbusd with broadcast activation
/// words, then one fmadd with d_w·d_x. `nt` is a compile-time constant at each call site.
VNNI INLINE void x16_q8_0_tile(const uint8_t *gp, long nb, const act_q8_0c *a, long tokenStride, int nt,
                               float *y, long ldy) {
    __m512 acc[8];
    for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
    for (long b = 0; b < nb; b++) {
        const uint8_t *blk = gp + b * X16_Q8_0_BLOCK;
        for (int o = 0; o < X16_Q8_0_BLOCK; o += 64) _mm_prefetch((const char *)blk + 8 * X16_Q8_0_BLOCK + o, _MM_HINT_T0);
        __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        __m512i w[8];
        for (int j = 0; j < 8; j++) w[j] = _mm512_loadu_si512((const void *)(blk + 32 + 64 * j));
        for (int t = 0; t < nt; t++) {
            const act_q8_0c *x = a + t * tokenStride + b;
            __m512i s = x16_block_dot(x->c, w, x->q);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(x->d)), acc[t]);
        }
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

VNNI static void x16_q8_0_gemm(const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                               long group0, long group1) {
    long nb = k / 32;
    const act_q8_0c *a = (const act_q8_0c *)xq;
    for (long g = group0; g < group1; g++) {
        const uint8_t *gp = x16_group(QK_Q8_0, packed, k, g);
        long t = 0;
        for (; t + 8 <= tokens; t += 8) x16_q8_0_tile(gp, nb, a + t * nb, nb, 8, y + t * ldy + 16 * g, ldy);
        for (; t < tokens; t++) x16_q8_0_tile(gp, nb, a + t * nb, nb, 1, y + t * ldy + 16 * g, ldy);
    }
}
#endif

void qk_x16_gemm(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                 long group0, long group1) {
#if defined(__x86_64__)
    if (x16_vnni()) {
        switch (type) {
        case QK_Q8_0: x16_q8_0_gemm(packed, k, xq, tokens, y, ldy, group0, group1); return;
        case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: qk_x16_k_gemm_vnni(type, packed, k, xq, tokens, y, ldy, group0, group1); return;
        case QK_X16_K2: qk_x16_k2_gemm_vnni(type, packed, k, xq, tokens, y, ldy, group0, group1); return;
        case QK_X16_LEGACY: qk_x16l_gemm(type, packed, k, xq, tokens, y, ldy, group0, group1); return;
        default: qk_unknown_type("qk_x16_gemm", type);
        }
    }
#endif
    qk_x16_gemm_ref(type, packed, k, xq, tokens, y, ldy, group0, group1);
}
