// The load-time repack into the x16 layouts (quant_x16.c, quant_x16_k.c, quant_x16_legacy.c describe them),
// fast: every weight of a whole model passes through here once at load (19.6 GB for the 35B-A3B Q4_K_M), and the
// plain twin (qk_x16_repack_ref) moves it one byte at a time through index arithmetic per byte.
//
// Every layout interleaves 4-byte words (4 columns of one row), never splits one: so each packed 64-byte chunk is
// built from 16 word loads, one per row, and written in order (the output streams; the 16 source blocks of a
// packed block stay in L1). Only the Q4_K scale bytes (192 of 2304) and the f16 scales move singly or in pairs.
// The output bytes equal the twin's exactly (PackedMatmulTests pins the two for every format).
#include "CKernels.h"
#include "quant_internal.h"
#include <string.h>

INLINE uint32_t load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/// 16 words, row r's at rows[r] + offset, to the 64-byte chunk o (row r at o + 4r), each XOR `flip`.
INLINE void x16_words(uint8_t *o, const uint8_t *const rows[16], long offset, uint32_t flip) {
    for (int r = 0; r < 16; r++) {
        uint32_t v = load32(rows[r] + offset) ^ flip;
        memcpy(o + 4 * r, &v, 4);
    }
}

/// 16 two-byte fields, row r's at rows[r] + offset, to o + 2r.
INLINE void x16_pairs(uint8_t *o, const uint8_t *const rows[16], long offset) {
    for (int r = 0; r < 16; r++) memcpy(o + 2 * r, rows[r] + offset, 2);
}

/// Block b's source pointers of the 16 rows of group g: row r's ggml block at src + (16g + r)·rowBytes + b·blockBytes.
INLINE void x16_rows(const uint8_t *rows[16], const void *src, long g, long rowBytes, long b, long blockBytes) {
    for (int r = 0; r < 16; r++) rows[r] = (const uint8_t *)src + (16 * g + r) * rowBytes + b * blockBytes;
}

/// Q8_0: d[16] then chunk j = the 16 rows' columns 4j..4j+3 as u8 (w ^ 0x80).
static void x16_repack_q8_0(const void *src, long k, void *dst, long group0, long group1) {
    long nb = k / 32;
    uint8_t *o = (uint8_t *)dst + group0 * nb * X16_Q8_0_BLOCK;
    for (long g = group0; g < group1; g++)
        for (long b = 0; b < nb; b++, o += X16_Q8_0_BLOCK) {
            const uint8_t *rows[16];
            x16_rows(rows, src, g, nb * 34, b, 34);
            x16_pairs(o, rows, 0);
            for (int j = 0; j < 8; j++) x16_words(o + 32 + 64 * j, rows, 2 + 4 * j, 0x80808080u);
        }
}

/// Q4_K: d[16], dmin[16], scales[12][16] (bytes), qs[4][8][64] (pair p, chunk j: ggml qs[32p + 4j ..]).
static void x16_repack_q4_K(const void *src, long k, void *dst, long group0, long group1) {
    long nb = k / 256;
    uint8_t *o = (uint8_t *)dst + group0 * nb * X16_Q4_K_BLOCK;
    for (long g = group0; g < group1; g++)
        for (long b = 0; b < nb; b++, o += X16_Q4_K_BLOCK) {
            const uint8_t *rows[16];
            x16_rows(rows, src, g, nb * 144, b, 144);
            x16_pairs(o, rows, 0);
            x16_pairs(o + 32, rows, 2);
            for (int i = 0; i < 12; i++)
                for (int r = 0; r < 16; r++) o[64 + 16 * i + r] = rows[r][4 + i];
            for (int c = 0; c < 32; c++) x16_words(o + 256 + 64 * c, rows, 16 + 4 * c, 0); // c = 8p + j
        }
}

/// Q6_K: the int8 scales as pairs, then per half h and chunk c three 64-byte chunks (qh[32h+4c], ql[64h+4c],
/// ql[64h+32+4c]); the group's f16 d of every super-block after its last block.
static void x16_repack_q6_K(const void *src, long k, void *dst, long group0, long group1) {
    long nb = k / 256, groupBytes = nb * (X16_Q6_K_BLOCK + 32);
    for (long g = group0; g < group1; g++) {
        uint8_t *gp = (uint8_t *)dst + g * groupBytes;
        for (long b = 0; b < nb; b++) {
            uint8_t *blk = gp + b * X16_Q6_K_BLOCK, *o = blk + 256;
            const uint8_t *rows[16];
            x16_rows(rows, src, g, nb * 210, b, 210);
            for (int h = 0; h < 2; h++)
                for (int c = 0; c < 8; c++, o += 192) {
                    x16_words(o, rows, 128 + 32 * h + 4 * c, 0);
                    x16_words(o + 64, rows, 64 * h + 4 * c, 0);
                    x16_words(o + 128, rows, 64 * h + 32 + 4 * c, 0);
                }
            for (int i = 0; i < 8; i++) x16_pairs(blk + 32 * i, rows, 192 + 2 * i);
            x16_pairs(gp + nb * X16_Q6_K_BLOCK + 32 * b, rows, 208);
        }
    }
}

void qk_x16_repack(int type, const void *src, long k, void *dst, long group0, long group1) {
    switch (type) {
    case QK_Q8_0: x16_repack_q8_0(src, k, dst, group0, group1); break;
    case QK_Q4_K: x16_repack_q4_K(src, k, dst, group0, group1); break;
    case QK_Q6_K: x16_repack_q6_K(src, k, dst, group0, group1); break;
    case QK_X16_LEGACY: qk_x16l_repack(type, src, k, dst, group0, group1); break;
    // No word-move version yet: the byte maps of the plain twin (the same bytes).
    case QK_Q5_K: case QK_X16_K2: qk_x16_repack_ref(type, src, k, dst, group0, group1); break;
    default: qk_unknown_type("qk_x16_repack", type);
    }
}
