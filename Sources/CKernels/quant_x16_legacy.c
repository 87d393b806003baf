// Repacked ("x16") kernels for the 32-column legacy formats Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL: the scheme of
// quant_x16.c's Q8_0 (16 rows interleaved per block, one vpdpbusd with a broadcast activation word advances 16
// row dot products) with 4- or 5-bit weights unpacked to u8 once per block for every token of a tile.
//
// One group (16 rows) × one block (32 columns), the size of the 16 ggml blocks it replaces (decode reads it once):
//   d[16]       f16 scales, row r at d[r]                                                     32 bytes
//   m[16]       f16 mins (Q4_1, Q5_1)                                                          32 bytes
//   hi[8]       Q5_x fifth bits as byte masks: bit 4r+e of u64 hi[h] = column 4h+e of row r    64 bytes
//   q[4][64]    byte 4r+e of chunk c = ggml qs[4c+e] of row r: low nibble column 4c+e,         256 bytes
//               high nibble column 16+4c+e (ggml's order: low nibbles are columns 0–15)
// Unpacked, chunk c's low nibbles are columns 4c..4c+3 and its high nibbles columns 16+4c.., so the 8 vectors
// w[h] (h = 0..7, columns 4h..4h+3, 4 per row lane) line up with the activation words q[4h..4h+3]. hi[h] is
// exactly the byte mask of w[h] that takes +16, one masked add per vector.
//
// The u8 weight u and the value it stands for: Q4_0 u − 8, Q5_0 u − 16, IQ4_NL kvalues_iq4nl[nibble] = u − 128
// (u from a vpshufb table), Q4_1 / Q5_1 u·d + m. The offsets come back per token and block through Σq of the
// activations (act_x16l.c = −offset·Σq); the min term is m·d_x·Σq (act_x16l.s), as ggml's q8_1 `s`.
#include "CKernels.h"
#include "quant_internal.h"
#include <math.h>
#include <string.h>

typedef struct { float d; int32_t c; float s; int8_t q[32]; } act_x16l; // c = −offset·Σq, s = d·Σq

/// Block shape of a format: ggml block bytes (the packed block is 16 of them), fields present, weight offset.
typedef struct { int ggml, hasMin, hasHigh, offset; } x16l_shape;

static x16l_shape x16l_shape_of(int type) {
    switch (type) {
    case QK_Q4_0: return (x16l_shape){18, 0, 0, 8};
    case QK_Q4_1: return (x16l_shape){20, 1, 0, 0};
    case QK_Q5_0: return (x16l_shape){22, 0, 1, 16};
    case QK_Q5_1: return (x16l_shape){24, 1, 1, 0};
    case QK_IQ4_NL: return (x16l_shape){18, 0, 0, 128};
    default: qk_unknown_type("quant_x16_legacy", type);
    }
}

long qk_x16l_bytes(int type, long rows, long k) { return rows / 16 * (k / 32) * 16 * x16l_shape_of(type).ggml; }

long qk_x16l_act_bytes(long k) { return k / 32 * (long)sizeof(act_x16l); }

void qk_x16l_quantize_act(int type, const float *x, long k, long tokens, void *out) {
    int offset = x16l_shape_of(type).offset;
    for (long t = 0; t < tokens; t++) {
        act_x16l *a = (act_x16l *)out + t * (k / 32);
        for (long b = 0; b < k / 32; b++) {
            // Same per-block quantisation as qk_quantize_act's Q8_0 blocks, plus the per-block sums.
            int s;
            a[b].d = qk_quantize_block(x + t * k + b * 32, 32, a[b].q, &s);
            a[b].c = -offset * s;
            a[b].s = a[b].d * (float)s;
        }
    }
}

/// Byte offsets of the fields in a ggml block and in a packed block.
typedef struct { int qh, qs, pm, phi, pq, bytes; } x16l_fields;

static x16l_fields x16l_fields_of(x16l_shape f) {
    int bytes = 16 * f.ggml;
    return (x16l_fields){.qh = 2 + 2 * f.hasMin, .qs = f.ggml - 16, .pm = 32, .phi = 32 + 32 * f.hasMin,
                         .pq = bytes - 256, .bytes = bytes};
}

/// Plain twin of qk_x16l_repack: one row at a time, the fifth bits one by one.
void qk_x16l_repack_ref(int type, const void *src, long k, void *dst, long group0, long group1) {
    x16l_shape f = x16l_shape_of(type);
    x16l_fields o = x16l_fields_of(f);
    long nb = k / 32, rb = nb * f.ggml;
    for (long g = group0; g < group1; g++) {
        uint8_t *p = (uint8_t *)dst + g * nb * o.bytes;
        for (long b = 0; b < nb; b++, p += o.bytes) {
            if (f.hasHigh) memset(p + o.phi, 0, 64);
            for (int r = 0; r < 16; r++) {
                const uint8_t *blk = (const uint8_t *)src + (16 * g + r) * rb + b * f.ggml;
                memcpy(p + 2 * r, blk, 2);
                if (f.hasMin) memcpy(p + o.pm + 2 * r, blk + 2, 2);
                for (int c = 0; c < 4; c++) memcpy(p + o.pq + 64 * c + 4 * r, blk + o.qs + 4 * c, 4);
                if (f.hasHigh) {
                    uint32_t qh;
                    memcpy(&qh, blk + o.qh, 4);
                    for (int col = 0; col < 32; col++) {
                        int bit = 64 * (col / 4) + 4 * r + col % 4;   // bit of the 512-bit plane
                        p[o.phi + bit / 8] |= (uint8_t)(((qh >> col) & 1) << (bit % 8));
                    }
                }
            }
        }
    }
}

/// The same bytes as qk_x16l_repack_ref, written in order: per packed block the 16 rows' scales, mins and
/// 4-byte words, and each 64-bit fifth-bit mask built in a register (row r's 4 bits of chunk h at bit 4r).
void qk_x16l_repack(int type, const void *src, long k, void *dst, long group0, long group1) {
    x16l_shape f = x16l_shape_of(type);
    x16l_fields o = x16l_fields_of(f);
    long nb = k / 32, rb = nb * f.ggml;
    uint8_t *p = (uint8_t *)dst + group0 * nb * o.bytes;
    for (long g = group0; g < group1; g++)
        for (long b = 0; b < nb; b++, p += o.bytes) {
            const uint8_t *rows[16];
            for (int r = 0; r < 16; r++) rows[r] = (const uint8_t *)src + (16 * g + r) * rb + b * f.ggml;
            for (int r = 0; r < 16; r++) memcpy(p + 2 * r, rows[r], 2);
            if (f.hasMin) for (int r = 0; r < 16; r++) memcpy(p + o.pm + 2 * r, rows[r] + 2, 2);
            if (f.hasHigh) {
                uint32_t qh[16];
                for (int r = 0; r < 16; r++) memcpy(&qh[r], rows[r] + o.qh, 4);
                for (int h = 0; h < 8; h++) {
                    uint64_t mask = 0;
                    for (int r = 0; r < 16; r++) mask |= (uint64_t)((qh[r] >> (4 * h)) & 0xF) << (4 * r);
                    memcpy(p + o.phi + 8 * h, &mask, 8); // little-endian: bit 4r+e is byte r/2, bit 4(r%2)+e
                }
            }
            for (int c = 0; c < 4; c++)
                for (int r = 0; r < 16; r++) memcpy(p + o.pq + 64 * c + 4 * r, rows[r] + o.qs + 4 * c, 4);
        }
}

void qk_x16l_unpack(int type, const void *packed, long k, void *dst, long group0, long group1) {
    x16l_shape f = x16l_shape_of(type);
    x16l_fields o = x16l_fields_of(f);
    long nb = k / 32, rb = nb * f.ggml;
    for (long g = group0; g < group1; g++) {
        const uint8_t *p = (const uint8_t *)packed + g * nb * o.bytes;
        for (long b = 0; b < nb; b++, p += o.bytes) {
            for (int r = 0; r < 16; r++) {
                uint8_t *blk = (uint8_t *)dst + (16 * g + r) * rb + b * f.ggml;
                memcpy(blk, p + 2 * r, 2);
                if (f.hasMin) memcpy(blk + 2, p + o.pm + 2 * r, 2);
                for (int c = 0; c < 4; c++) memcpy(blk + o.qs + 4 * c, p + o.pq + 64 * c + 4 * r, 4);
                if (f.hasHigh) {
                    uint32_t qh = 0;
                    for (int col = 0; col < 32; col++) {
                        int bit = 64 * (col / 4) + 4 * r + col % 4;
                        qh |= (uint32_t)((p[o.phi + bit / 8] >> (bit % 8)) & 1) << col;
                    }
                    memcpy(blk + o.qh, &qh, 4);
                }
            }
        }
    }
}

// MARK: - Plain twin

/// The u8 weight of row r, column col of a packed block, read one bit field at a time.
static int x16l_weight(int type, x16l_shape f, x16l_fields o, const uint8_t *p, int r, int col) {
    uint8_t byte = p[o.pq + 64 * (col % 16 / 4) + 4 * r + col % 4];
    int u = col < 16 ? byte & 0x0F : byte >> 4;
    if (f.hasHigh) {
        int bit = 64 * (col / 4) + 4 * r + col % 4;
        u |= ((p[o.phi + bit / 8] >> (bit % 8)) & 1) << 4;
    }
    return type == QK_IQ4_NL ? iq4nl_u8[u] : u;
}

/// The kernel's operations per output, one scalar at a time: the block's integer sum (offset term first) to f32,
/// times d_w·d_x, added to the running sum; then the min term m·s (Q4_1, Q5_1); block by block.
void qk_x16l_gemm_ref(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                      long group0, long group1) {
    x16l_shape f = x16l_shape_of(type);
    x16l_fields o = x16l_fields_of(f);
    long nb = k / 32;
    for (long g = group0; g < group1; g++) {
        const uint8_t *gp = (const uint8_t *)packed + g * nb * o.bytes;
        for (long t = 0; t < tokens; t++) {
            const act_x16l *a = (const act_x16l *)xq + t * nb;
            for (int r = 0; r < 16; r++) {
                float acc = 0;
                for (long b = 0; b < nb; b++) {
                    const uint8_t *p = gp + b * o.bytes;
                    uint16_t dh, mh;
                    memcpy(&dh, p + 2 * r, 2);
                    int32_t s = a[b].c;
                    for (int col = 0; col < 32; col++) s += x16l_weight(type, f, o, p, r, col) * a[b].q[col];
                    acc = fmaf((float)s, qk_f16_to_f32(dh) * a[b].d, acc);
                    if (f.hasMin) {
                        memcpy(&mh, p + o.pm + 2 * r, 2);
                        acc = fmaf(qk_f16_to_f32(mh), a[b].s, acc);
                    }
                }
                y[t * ldy + 16 * g + r] = acc;
            }
        }
    }
}

// MARK: - AVX-512 VNNI

#if defined(__x86_64__)

/// NT tokens × 16 rows over all blocks of one group. A block's weights are unpacked to 8 u8 vectors once for the
/// NT tokens (nibble masks, the Q5 fifth-bit masked adds, the IQ4_NL table); per token: int32 lanes start at
/// the offset term, take 8 vpdpbusd with broadcast activation words, one fmadd with d_w·d_x, and one with m·s
/// for the _1 formats. `nt`, `bytes`, `hasMin`, `hasHigh` and `iq4` are compile-time constants at each call.
VNNI INLINE void x16l_tile(const uint8_t *gp, long nb, const act_x16l *a, long tokenStride, int nt, float *y,
                           long ldy, int bytes, int hasMin, int hasHigh, int iq4) {
    const __m512i low = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(0x10);
    const __m512i lut = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)iq4nl_u8));
    __m512 acc[8];
    for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
    for (long b = 0; b < nb; b++) {
        const uint8_t *blk = gp + b * bytes;
        for (int o = 0; o < bytes; o += 64) _mm_prefetch((const char *)blk + 8 * bytes + o, _MM_HINT_T0);
        __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        __m512 dm = hasMin ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 32))) : _mm512_setzero_ps();
        const uint8_t *q = blk + bytes - 256, *hi = blk + 32 + 32 * hasMin;
        __m512i w[8];
        for (int c = 0; c < 4; c++) {
            __m512i n = _mm512_loadu_si512((const void *)(q + 64 * c));
            w[c] = _mm512_and_si512(n, low);
            w[4 + c] = _mm512_and_si512(_mm512_srli_epi16(n, 4), low);
        }
        for (int h = 0; h < 8; h++) {
            if (hasHigh) {
                uint64_t m;
                memcpy(&m, hi + 8 * h, 8);
                w[h] = _mm512_mask_add_epi8(w[h], (__mmask64)m, w[h], sixteen);
            }
            if (iq4) w[h] = _mm512_shuffle_epi8(lut, w[h]);
        }
        for (int t = 0; t < nt; t++) {
            const act_x16l *x = a + t * tokenStride + b;
            __m512i s = x16_block_dot(x->c, w, x->q);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(x->d)), acc[t]);
            if (hasMin) acc[t] = _mm512_fmadd_ps(dm, _mm512_set1_ps(x->s), acc[t]);
        }
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

/// Tiles of 8 tokens, then 1-token tiles for the tail: the same per-token operations either way.
VNNI INLINE void x16l_gemm_fmt(const void *packed, long k, const act_x16l *a, long tokens, float *y, long ldy,
                               long group0, long group1, int bytes, int hasMin, int hasHigh, int iq4) {
    long nb = k / 32;
    for (long g = group0; g < group1; g++) {
        const uint8_t *gp = (const uint8_t *)packed + g * nb * bytes;
        long t = 0;
        for (; t + 8 <= tokens; t += 8)
            x16l_tile(gp, nb, a + t * nb, nb, 8, y + t * ldy + 16 * g, ldy, bytes, hasMin, hasHigh, iq4);
        for (; t < tokens; t++)
            x16l_tile(gp, nb, a + t * nb, nb, 1, y + t * ldy + 16 * g, ldy, bytes, hasMin, hasHigh, iq4);
    }
}

VNNI void qk_x16l_gemm(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                       long group0, long group1) {
    const act_x16l *a = (const act_x16l *)xq;
    switch (type) {
    case QK_Q4_0: x16l_gemm_fmt(packed, k, a, tokens, y, ldy, group0, group1, 288, 0, 0, 0); break;
    case QK_Q4_1: x16l_gemm_fmt(packed, k, a, tokens, y, ldy, group0, group1, 320, 1, 0, 0); break;
    case QK_Q5_0: x16l_gemm_fmt(packed, k, a, tokens, y, ldy, group0, group1, 352, 0, 1, 0); break;
    case QK_Q5_1: x16l_gemm_fmt(packed, k, a, tokens, y, ldy, group0, group1, 384, 1, 1, 0); break;
    case QK_IQ4_NL: x16l_gemm_fmt(packed, k, a, tokens, y, ldy, group0, group1, 288, 0, 0, 1); break;
    default: qk_unknown_type("qk_x16l_gemm", type);
    }
}
#endif
