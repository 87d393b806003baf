// AVX2 building blocks of the ggml-layout integer dots (quant.c, quant_formats.c, quant_iq4_q3.c, quant_q2_K.c,
// quant_legacy.c): per-format steps
// and scale broadcasts, and the epilogues that finish 4 results in one vector. A tile finishes 4 tokens of one block
// per vector, a 1-token dot 4 blocks of its token; every lane takes the same operations on the same integer sums,
// so a token's result is the same bits alone, in a 4-token tile or in an 8-token tile. Included by
// quant_internal.h inside its x86_64 section (act_q8_k, AVX2, INLINE come from there).
#ifndef QWENKIT_QUANT_AVX2_H
#define QWENKIT_QUANT_AVX2_H

/// Bytes ahead of the current weight block that the AVX2 decode dots prefetch (into L1): Zen 3's hardware
/// prefetcher alone left Q8_0 decode at ~0.8 of the DRAM probe. bench-0.8b Q8_0 decode, 2 threads,
/// interleaved runs on a host whose probe swings 18-25 GB/s: none 17.3-20.8 tok/s, 2048 bytes ahead 17.7-25.2
/// (512 and 1024 in between).
#define QK_PF_AHEAD 2048

/// One prefetch per 64-byte line of the `bytes` bytes QK_PF_AHEAD past w.
AVX2 INLINE void prefetch_ahead(const uint8_t *w, int bytes) {
    for (int l = 0; l < bytes; l += 64) _mm_prefetch((const char *)w + QK_PF_AHEAD + l, _MM_HINT_T0);
}

/// The 32 nibbles of a 32-element block (Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) as bytes in element order: the low
/// nibbles of qs[0..15] are elements 0-15, the high nibbles 16-31.
AVX2 INLINE __m256i q4_0_unpack(const uint8_t *qs) {
    __m128i q = _mm_loadu_si128((const __m128i *)qs);
    const __m128i low4 = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), low4), _mm_and_si128(q, low4));
}

/// Group g (64 weights: lo the first 32, hi the next 32) of a Q4_K / Q5_K block against one activation block,
/// added to sumi; s0, s1 the two groups' scales in every int16 lane. Shared by the 1-token dots and the tiles.
AVX2 INLINE __m256i q4_K_step_avx2(__m256i lo, __m256i hi, __m256i s0, __m256i s1, int g, const act_q8_k *x, __m256i sumi) {
    __m256i xl = _mm256_loadu_si256((const __m256i *)(x->q + 64 * g));
    __m256i xh = _mm256_loadu_si256((const __m256i *)(x->q + 64 * g + 32));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, xl), s0));
    return _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, xh), s1));
}

/// The 12 scale bytes of a Q4_K / Q5_K block unpacked at once (ggml's kmask form of get_scale_min_k4): bytes 0-7
/// of u the 8 scales, bytes 8-15 the 8 mins.
INLINE void q4_K_scales_mins(const uint8_t *scales, uint32_t u[4]) {
    memcpy(u, scales, 12);
    u[3] = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
    uint32_t mins = u[1] & 0x3f3f3f3f;
    u[1] = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
    u[2] = mins;
    u[0] &= 0x3f3f3f3f;
}

/// The 8 scales as int16 in both 128-bit halves, for q4_K_scale.
AVX2 INLINE __m256i q4_K_scales16(const uint32_t u[4]) {
    return _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[1], (int)u[0])));
}

#define QK_W2(s) 2 * (s), 2 * (s) + 1
#define QK_W16(s) QK_W2(s), QK_W2(s), QK_W2(s), QK_W2(s), QK_W2(s), QK_W2(s), QK_W2(s), QK_W2(s)
/// vpshufb controls for q4_K_scale: row s picks int16 lane s of each 128-bit half into all its lanes.
static const uint8_t q4_K_scale_ctrl[8][32] __attribute__((aligned(32))) = {
    {QK_W16(0), QK_W16(0)}, {QK_W16(1), QK_W16(1)}, {QK_W16(2), QK_W16(2)}, {QK_W16(3), QK_W16(3)},
    {QK_W16(4), QK_W16(4)}, {QK_W16(5), QK_W16(5)}, {QK_W16(6), QK_W16(6)}, {QK_W16(7), QK_W16(7)}};
#undef QK_W16
#undef QK_W2

/// Scale s (0-7) in every int16 lane, by vpshufb: broadcasting from a general register (vmovd + vpbroadcastw
/// after a byte load) cost a 4-token Q4_K tile ~10 of its ~74 cycles per block on Zen 3. The control comes from
/// a table, not from s in a general register: in the tiles' (not unrolled) group loop, vmovd + vpbroadcastw of
/// the control put ~8 cycles of latency in front of each group's first vpmaddwd.
AVX2 INLINE __m256i q4_K_scale(__m256i sc16, int s) {
    return _mm256_shuffle_epi8(sc16, _mm256_load_si256((const __m256i *)q4_K_scale_ctrl[s]));
}

/// The 8 mins as 16 int16, each twice: vpmaddwd against an activation block's sums per 16 gives m_j·Σx_j per 32.
AVX2 INLINE __m256i q4_K_mins16(const uint32_t u[4]) {
    __m128i m = _mm_set_epi32(0, 0, (int)u[3], (int)u[2]);
    return _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m, m));
}

/// A tile's nt token sums pinned in registers at the end of a chunk (an empty asm that reads and writes each).
/// Without it clang starts the next chunks' products before the last adds and, with 8 sums live beside the
/// chunk values and scales, spills sums to the stack: the Q6_K 8-token tile went 43 → 40 cycles per half block
/// (llvm-mca -mcpu=znver3) and ~10 % faster in L1 on Zen 3.
AVX2 INLINE void tile_sums_settle(__m256i *sumi, int nt) {
    for (int j = 0; j < nt; j++) __asm__("" : "+x"(sumi[j]));
}

/// Lane j: the sum of the 8 int32 lanes of the j-th argument. Integer sums are the same in any order, so a
/// token's sums do not depend on which tile it was in.
/// By unpacks and adds (one µop each): Zen 3 splits vphaddd into 3 µops at one per 2 cycles, and the tree of 3
/// took 12 of a Q4_K 8-token tile's ~28 epilogue cycles per block (llvm-mca -mcpu=znver3).
AVX2 INLINE __m256i hsum_pairs(__m256i a, __m256i b) { // per 128-bit half: a0+a2, b0+b2, a1+a3, b1+b3
    return _mm256_add_epi32(_mm256_unpacklo_epi32(a, b), _mm256_unpackhi_epi32(a, b));
}
AVX2 INLINE __m256i hsum_quads(__m256i a, __m256i b, __m256i c, __m256i d) { // per half: Σa, Σb, Σc, Σd of it
    __m256i ab = hsum_pairs(a, b), cd = hsum_pairs(c, d);
    return _mm256_add_epi32(_mm256_unpacklo_epi64(ab, cd), _mm256_unpackhi_epi64(ab, cd));
}
AVX2 INLINE __m128i hsum4x8i(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i abcd = hsum_quads(a, b, c, d);
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

/// Lane j: the sum of the 8 int32 lanes of v[j] (hsum4x8i for 8 vectors).
AVX2 INLINE __m256i hsum8x8i(const __m256i v[8]) {
    __m256i q0 = hsum_quads(v[0], v[1], v[2], v[3]), q1 = hsum_quads(v[4], v[5], v[6], v[7]);
    return _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20), _mm256_permute2x128_si256(q0, q1, 0x31));
}

/// The activation scales of block b of 4 tokens (a[0..3]).
AVX2 INLINE __m128 act_d4(const act_q8_k *const a[4], long b) {
    return _mm_set_ps(a[3][b].d, a[2][b].d, a[1][b].d, a[0][b].d);
}

/// m_j·Σx_j per lane of one block and token (the mins term of Q4_K / Q5_K, before its horizontal sum).
AVX2 INLINE __m256i q4_K_summ(const uint32_t u[4], const act_q8_k *x) {
    return _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)x->sums), q4_K_mins16(u));
}

/// The activation sums of an 8-token tile that the mins term (Q4_K, Q5_K, Q2_K) or the offset term (Q6_K, Q3_K)
/// needs, for one block, laid out for vpmaddwd against a pair of mins or scales: pair[p] int16 lanes 2t, 2t + 1 =
/// token t's Σx over sub-blocks 2p and 2p + 1 (per32: pairs 0-3, sub-blocks of 32; else pairs 0-7, sub-blocks of
/// 16). Built once per tile in each qk_qgemv call (one per work item of a matmul) and read by all its rows: per row
/// and block the term of 8 tokens is then 4 or 8 vpmaddwd into one vector, where per token it was a vpmaddwd and a
/// share of a horizontal sum (Zen 3: 18 % of the Q4_K tile, 11 % of Q6_K's, 17 % of Q3_K's).
typedef struct { __m256i pair[8]; } tile_sums;

/// ts[b] for blocks 0 ..< nb of the 8 tokens a[0..7]. Sums per 32 fit int16 (|Σ| ≤ 32 · 127).
INLINE void tile_sums_build(const act_q8_k *const a[8], long nb, tile_sums *ts, int per32) {
    for (long b = 0; b < nb; b++) {
        int16_t v[8][16];
        for (int p = 0; p < (per32 ? 4 : 8); p++)
            for (int t = 0; t < 8; t++)
                for (int i = 0; i < 2; i++) {
                    const int16_t *s = a[t][b].sums;
                    v[p][2 * t + i] = per32 ? (int16_t)(s[4 * p + 2 * i] + s[4 * p + 2 * i + 1]) : s[2 * p + i];
                }
        memcpy(&ts[b], v, (per32 ? 4 : 8) * sizeof v[0]);
    }
}

/// Lane t: Σ_j m_j·Σx_j of token t (the same integer as q4_K_summ's lanes summed).
AVX2 INLINE __m256i q4_K_summ8(const uint32_t u[4], const tile_sums *ts) {
    __m256i m = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)u[3], (int)u[2])));
    __m256i r = _mm256_madd_epi16(ts->pair[0], _mm256_shuffle_epi32(m, 0x00));
    r = _mm256_add_epi32(r, _mm256_madd_epi16(ts->pair[1], _mm256_shuffle_epi32(m, 0x55)));
    r = _mm256_add_epi32(r, _mm256_madd_epi16(ts->pair[2], _mm256_shuffle_epi32(m, 0xAA)));
    return _mm256_add_epi32(r, _mm256_madd_epi16(ts->pair[3], _mm256_shuffle_epi32(m, 0xFF)));
}

/// Q4_K / Q5_K / Q2_K block results d_x·(d·sumi − dmin·summ), one per lane: 4 tokens of one block in a tile, or 4
/// blocks of one token in a 1-token dot. The same operations in every lane, so a token's result is the same bits
/// alone or in a tile. Vector epilogues replace a horizontal sum and scalar tail per token and block.
AVX2 INLINE __m128 q4_K_result4(__m128 d, __m128 dmin, __m128 ad, __m128i sumi, __m128i summ) {
    __m128 mins = _mm_mul_ps(dmin, _mm_cvtepi32_ps(summ));
    return _mm_mul_ps(ad, _mm_fmsub_ps(d, _mm_cvtepi32_ps(sumi), mins));
}

/// d·d_x·sumi, one per lane (formats with one f16 scale per block: Q6_K, Q3_K, IQ4_XS and the 32-element
/// formats; 4 tokens of a tile or 4 blocks of a 1-token dot).
AVX2 INLINE __m128 scaled4(__m128 d, __m128 ad, __m128i sumi) {
    return _mm_mul_ps(_mm_mul_ps(d, ad), _mm_cvtepi32_ps(sumi));
}

/// sum + r[0] + … + r[n − 1], left to right: blocks in the order in which a tile's lane adds them.
AVX2 INLINE float add_in_order(float sum, __m128 r, int n) {
    float v[4];
    _mm_storeu_ps(v, r);
    for (int i = 0; i < n; i++) sum += v[i];
    return sum;
}

/// The 1-token dots finish 4 blocks at a time: per block, the integer sums (8 lanes each) and the scales go into
/// these slots; a short last group leaves its slots zero and adds only its n lanes.
typedef struct { __m256i sumi[4], aux[4]; float d[4], dmin[4], ad[4]; } block_group;

AVX2 INLINE void block_group_clear(block_group *g) {
    for (int i = 0; i < 4; i++) {
        g->sumi[i] = g->aux[i] = _mm256_setzero_si256();
        g->d[i] = g->dmin[i] = g->ad[i] = 0;
    }
}

/// The n blocks of a group finished (Q4_K, Q5_K) and added to sum in order.
AVX2 INLINE float q4_K_finish(const block_group *g, int n, float sum) {
    __m128 r = q4_K_result4(_mm_loadu_ps(g->d), _mm_loadu_ps(g->dmin), _mm_loadu_ps(g->ad),
                            hsum4x8i(g->sumi[0], g->sumi[1], g->sumi[2], g->sumi[3]),
                            hsum4x8i(g->aux[0], g->aux[1], g->aux[2], g->aux[3]));
    return add_in_order(sum, r, n);
}

/// The n blocks of a group finished (one scale per super-block: Q3_K, IQ4_XS) and added to sum in order.
AVX2 INLINE float scaled_finish(const block_group *g, int n, float sum) {
    __m128i s = hsum4x8i(g->sumi[0], g->sumi[1], g->sumi[2], g->sumi[3]);
    return add_in_order(sum, scaled4(_mm_loadu_ps(g->d), _mm_loadu_ps(g->ad), s), n);
}

/// Blocks b0..b0 + n − 1 (n ≤ 4) of one row against one token, added to sum in order.
typedef float (*group_fn)(const uint8_t *w, const act_q8_k *a, long b0, int n, float sum);

/// A 1-token dot: whole groups of 4 blocks, then the rest. group is an INLINE function, so each call inlines with
/// its literal n and a whole group stays in registers.
AVX2 INLINE float grouped_dot(group_fn group, const uint8_t *w, const act_q8_k *a, long nb) {
    float sum = 0;
    long b0 = 0;
    for (; b0 + 4 <= nb; b0 += 4) sum = group(w, a, b0, 4, sum);
    return b0 < nb ? group(w, a, b0, (int)(nb - b0), sum) : sum;
}

/// Formats with 16 int8 scales per super-block, one per 16 elements (Q6_K, Q3_K): sc16 the scales as int16 (0-7 in
/// the low 128 bits, 8-15 in the high). One half of them in both halves: h = 0 for chunks 0-3, 1 for 4-7.
AVX2 INLINE __m256i scales16_half(__m256i sc16, int h) {
    return h ? _mm256_permute2x128_si256(sc16, sc16, 0x11) : _mm256_permute2x128_si256(sc16, sc16, 0x00);
}

/// Chunk c's scales (32 elements: sub-blocks 2c, 2c + 1) as int16, lanes 0-7 the first and 8-15 the second, by
/// vpshufb from scales16_half(sc16, c / 4). Built from general registers (two vpbroadcastw and an insert per
/// chunk), the scales took a third of a Q6_K block's instructions.
AVX2 INLINE __m256i chunk_scales16(__m256i half, int c) {
    int k = 2 * (c & 3);
    return _mm256_shuffle_epi8(half, _mm256_set_m128i(_mm_set1_epi16((short)(0x0100 + 0x0202 * (k + 1))),
                                                      _mm_set1_epi16((short)(0x0100 + 0x0202 * k))));
}

/// Chunk c (32 u8 values of sub-blocks 2c, 2c + 1) against one activation block, added to sumi; s the two
/// sub-blocks' scales (chunk_scales16). Shared by the 1-token dots and the tiles of Q6_K, Q3_K and Q2_K.
AVX2 INLINE __m256i chunk_step(__m256i u, __m256i s, int c, const act_q8_k *x, __m256i sumi) {
    __m256i xq = _mm256_loadu_si256((const __m256i *)(x->q + 32 * c));
    return _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(u, xq), s));
}

/// Σ_s sc_s·Σx_s over the 16 sub-blocks, in vector lanes: times the constant that the stored values are offset by
/// (Q6_K 32, Q3_K 4), the term that turns Σ sc·(q + offset)·x into Σ sc·q·x; with the mins for sc, the mins term
/// (Q2_K; Q4_K / Q5_K with each min twice).
AVX2 INLINE __m256i offset16(__m256i sc16, const act_q8_k *a) {
    return _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)a->sums));
}

/// The n blocks of a group finished (Q6_K, Q3_K: aux holds offset16, the value offset is 1 << shift) and added to
/// sum in order.
AVX2 INLINE float offset_finish(const block_group *g, int n, float sum, int shift) {
    __m128i ints = _mm_sub_epi32(hsum4x8i(g->sumi[0], g->sumi[1], g->sumi[2], g->sumi[3]),
                                 _mm_slli_epi32(hsum4x8i(g->aux[0], g->aux[1], g->aux[2], g->aux[3]), shift));
    return add_in_order(sum, scaled4(_mm_loadu_ps(g->d), _mm_loadu_ps(g->ad), ints), n);
}

/// Lane t: Σ_s sc_s·Σx_s of token t over the 16 sub-blocks (the same integer as offset16's lanes summed).
AVX2 INLINE __m256i offset8(__m256i sc16, const tile_sums *ts) {
    __m256i r = _mm256_setzero_si256();
    for (int h = 0; h < 2; h++) {
        __m256i sh = scales16_half(sc16, h);
        r = _mm256_add_epi32(r, _mm256_madd_epi16(ts->pair[4 * h], _mm256_shuffle_epi32(sh, 0x00)));
        r = _mm256_add_epi32(r, _mm256_madd_epi16(ts->pair[4 * h + 1], _mm256_shuffle_epi32(sh, 0x55)));
        r = _mm256_add_epi32(r, _mm256_madd_epi16(ts->pair[4 * h + 2], _mm256_shuffle_epi32(sh, 0xAA)));
        r = _mm256_add_epi32(r, _mm256_madd_epi16(ts->pair[4 * h + 3], _mm256_shuffle_epi32(sh, 0xFF)));
    }
    return r;
}

/// The mins or offset term of tokens 4i..4i+3 of a tile: half i of term8 (the 8-token tile's terms from
/// tile_sums), or, without it, offset16(v16, ·) of each token summed horizontally (the same integers).
AVX2 INLINE __m128i tile_term4(const __m256i *term8, int i, __m256i v16, const act_q8_k *const *ai, long b) {
    if (term8) return i ? _mm256_extracti128_si256(*term8, 1) : _mm256_castsi256_si128(*term8);
    return hsum4x8i(offset16(v16, ai[0] + b), offset16(v16, ai[1] + b), offset16(v16, ai[2] + b), offset16(v16, ai[3] + b));
}

/// acc[i] += d·d_x·(sumi − (offset << shift)) for tokens 4i..4i+3 of an nt-token tile (Q6_K, Q3_K; ts the tile's
/// sums for this block when nt = 8, else NULL).
AVX2 INLINE void offset_tile(__m128 acc[2], float d, const act_q8_k *const *a, long b, const __m256i *sumi, __m256i sc16,
                             int shift, int nt, const tile_sums *ts) {
    __m256i off8 = ts ? offset8(sc16, ts) : _mm256_setzero_si256();
    for (int i = 0; i < nt / 4; i++) {
        const act_q8_k *const *ai = a + 4 * i;
        __m128i offset = tile_term4(ts ? &off8 : NULL, i, sc16, ai, b);
        __m128i s = hsum4x8i(sumi[4 * i], sumi[4 * i + 1], sumi[4 * i + 2], sumi[4 * i + 3]);
        acc[i] = _mm_add_ps(acc[i], scaled4(_mm_set1_ps(d), act_d4(ai, b), _mm_sub_epi32(s, _mm_slli_epi32(offset, shift))));
    }
}

/// acc[i] += d_x·(d·sumi − dmin·summ) for tokens 4i..4i+3 of an nt-token tile (formats with mins: Q4_K, Q5_K,
/// Q2_K). summ8: the tile's mins terms, lane t for token t (nt = 8), or NULL: per token, vpmaddwd of its sums per
/// 16 with mins16 (each sub-block's min against its sums, summed horizontally).
AVX2 INLINE void mins_tile_finish(__m128 acc[2], float d, float dmin, const act_q8_k *const *a, long b,
                                  const __m256i *sumi, int nt, __m256i mins16, const __m256i *summ8) {
    for (int i = 0; i < nt / 4; i++) {
        const act_q8_k *const *ai = a + 4 * i;
        __m128i summ = tile_term4(summ8, i, mins16, ai, b);
        __m128i s = hsum4x8i(sumi[4 * i], sumi[4 * i + 1], sumi[4 * i + 2], sumi[4 * i + 3]);
        acc[i] = _mm_add_ps(acc[i], q4_K_result4(_mm_set1_ps(d), _mm_set1_ps(dmin), act_d4(ai, b), s, summ));
    }
}

/// mins_tile_finish for a Q4_K / Q5_K block (w, its unpacked scales and mins u; ts the tile's sums for this block
/// when nt = 8, else NULL).
AVX2 INLINE void q4_K_tile_finish(__m128 acc[2], const uint8_t *w, const uint32_t u[4], const act_q8_k *const *a, long b,
                                  const __m256i *sumi, int nt, const tile_sums *ts) {
    __m256i summ8 = ts ? q4_K_summ8(u, ts) : _mm256_setzero_si256();
    mins_tile_finish(acc, f16_scale(w), f16_scale(w + 2), a, b, sumi, nt, q4_K_mins16(u), ts ? &summ8 : NULL);
}

/// acc[i] += d·d_x·sumi for tokens 4i..4i+3 of an nt-token tile (nt 4 or 8; one scale per super-block).
AVX2 INLINE void scaled_tile(__m128 acc[2], float d, const act_q8_k *const *a, long b, const __m256i *sumi, int nt) {
    for (int i = 0; i < nt / 4; i++)
        acc[i] = _mm_add_ps(acc[i], scaled4(_mm_set1_ps(d), act_d4(a + 4 * i, b), hsum4x8i(sumi[4 * i], sumi[4 * i + 1], sumi[4 * i + 2], sumi[4 * i + 3])));
}

#endif
