// Shared between the quantised-weight kernel files (quant.c, quant_formats.c, quant_iq4_q3.c, quant_q2_K.c,
// quant_legacy.c, quant_x16*.c): activation block layouts,
// K-quant scale helpers and target attributes. Not part of the module's public header.
#ifndef QWENKIT_QUANT_INTERNAL_H
#define QWENKIT_QUANT_INTERNAL_H
#include "CKernels.h"
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define INLINE static inline __attribute__((always_inline))

/// Aborts naming the function and the code: every kernel switch ends here on a code it does not know.
_Noreturn void qk_unknown_type(const char *where, int type);

// MARK: - Activation blocks

/// One block of n activations to int8: d = max|x|/127, q = round(x/d) (quant.c). Returns d; *sum = Σ q.
float qk_quantize_block(const float *x, int n, int8_t *q, int *sum);

typedef struct { float d; int8_t q[32]; } act_q8_0;                    // 36 bytes
typedef struct { float d; int16_t sums[16]; int8_t q[256]; } act_q8_k; // 292 bytes; sums per 16
typedef struct { float d; int32_t s; int8_t q[32]; } act_q8_1;         // 40 bytes; s = Σq (Q4_1, Q5_1 mins)

/// kvalues_iq4nl: the 16 signed levels of IQ4_NL / IQ4_XS (the plain twins).
static const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/// kvalues_iq4nl + 128: the u8 weights of the 16 levels of IQ4_NL and IQ4_XS (vpdpbusd takes u8 weights).
static const uint8_t iq4nl_u8[16] = {1, 24, 45, 63, 79, 93, 106, 118, 129, 141, 153, 166, 181, 197, 217, 241};

/// ggml get_scale_min_k4: the j-th 6-bit scale and min of a Q4_K block.
INLINE void scale_min_k4(int j, const uint8_t *q, int *sc, int *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/// The 8 scales and 8 mins of a Q4_K block.
INLINE void q4_K_scales(const uint8_t *w, int sc[8], int m[8]) {
    for (int j = 0; j < 8; j++) scale_min_k4(j, w + 4, &sc[j], &m[j]);
}

/// Q4_K block result from the scaled integer dot Σ sc_j·(q·x)_j: d_x·(d·sumi − dmin·Σ m_j·Σx_j).
INLINE float q4_K_block(const uint8_t *w, const act_q8_k *a, const int *m, int sumi) {
    int summ = 0;
    for (int j = 0; j < 8; j++) summ += m[j] * (a->sums[2 * j] + a->sums[2 * j + 1]);
    uint16_t dh, mh;
    memcpy(&dh, w, 2);
    memcpy(&mh, w + 2, 2);
    return a->d * (qk_f16_to_f32(dh) * (float)sumi - qk_f16_to_f32(mh) * (float)summ);
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512dq,avx2,fma,f16c")))

AVX2 INLINE float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// The f16 block scale at p, widened (vcvtph2ps, as _cvtsh_ss). Left to itself the compiler loads the 16 bits
/// with vpinsrw into whatever register it picks, which in the AVX2 dot loops was the accumulator: every block's
/// scale then waited on the previous block's fma (a ~15-cycle chain per block; Q8_0 decode at half the DRAM probe
/// on Zen 3). Kept in a general register, the value reaches the vector unit by vmovd, which depends on nothing.
AVX2 INLINE float f16_scale(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    int v = h;
    __asm__("" : "+r"(v));
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(v)));
}


#include "quant_avx2.h"

/// Broadcast of the 4-byte activation word at q (4 columns) for vpdpbusd / vpdpwssd.
VNNI INLINE __m512i x16_word(const int8_t *q) {
    int32_t v;
    memcpy(&v, q, 4);
    return _mm512_set1_epi32(v);
}

/// One 32-column block of 16 packed rows against one token: int32 lanes start at the offset term c and take 8
/// vpdpbusd (w[j] = columns 4j..4j+3 of the 16 rows as u8, q the token's 32 int8 activations).
VNNI INLINE __m512i x16_block_dot(int32_t c, const __m512i w[8], const int8_t *q) {
    __m512i s = _mm512_set1_epi32(c);
    for (int j = 0; j < 8; j++) s = _mm512_dpbusd_epi32(s, w[j], x16_word(q + 4 * j));
    return s;
}

/// Formats whose per-super-block scales d (32 bytes each) follow a group's last block (Q6_K, Q3_K): fetch them
/// when the group starts, so that the one read per block hits the cache instead of sending the demand stream
/// ahead and back, which costs the hardware prefetcher the block stream (Q6_K lm_head, one thread: 25.0 → 29.4
/// GB/s).
VNNI INLINE void x16_prefetch_group_scales(const uint8_t *gp, long nb, long blockBytes) {
    for (long o = 0; o < 32 * nb; o += 64) _mm_prefetch((const char *)gp + nb * blockBytes + o, _MM_HINT_T0);
}
#endif

// MARK: - Q4_0 and Q5_K dots (quant_formats.c): plain twin, AVX2, AVX-512 VNNI

float qk_dot_q4_0_ref(const uint8_t *w, const act_q8_0 *a, long nb);
float qk_dot_q5_K_ref(const uint8_t *w, const act_q8_k *a, long nb);
#if defined(__x86_64__)
float qk_dot_q4_0_avx2(const uint8_t *w, const act_q8_0 *a, long nb);
float qk_dot_q4_0_vnni(const uint8_t *w, const act_q8_0 *a, long nb);
float qk_dot_q5_K_avx2(const uint8_t *w, const act_q8_k *a, long nb);
void qk_dot4_q5_K_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]);
void qk_dot8_q5_K_avx2(const uint8_t *w, const act_q8_k *const a[8], long nb, float out[8], const tile_sums *ts);
float qk_dot_q5_K_vnni(const uint8_t *w, const act_q8_k *a, long nb);
#endif

// MARK: - IQ4_XS and Q3_K dots in the ggml layout (quant_iq4_q3.c): plain twin, AVX2

float qk_dot_iq4_xs_ref(const uint8_t *w, const act_q8_k *a, long nb);
float qk_dot_q3_K_ref(const uint8_t *w, const act_q8_k *a, long nb);
#if defined(__x86_64__)
float qk_dot_q3_K_avx2(const uint8_t *w, const act_q8_k *a, long nb);
void qk_dot4_q3_K_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]);
void qk_dot8_q3_K_avx2(const uint8_t *w, const act_q8_k *const a[8], long nb, float out[8], const tile_sums *ts);
float qk_dot_iq4_xs_avx2(const uint8_t *w, const act_q8_k *a, long nb);
void qk_dot4_iq4_xs_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]);
void qk_dot8_iq4_xs_avx2(const uint8_t *w, const act_q8_k *const a[8], long nb, float out[8], const tile_sums *ts);
#endif

// MARK: - Q4_1, Q5_0, Q5_1, IQ4_NL dots in the ggml layout (quant_legacy.c): plain twin, AVX2

/// Bytes of one 32-element block of these formats.
long qk_legacy_block_bytes(int type);
/// a: act_q8_1 blocks for Q4_1 / Q5_1, act_q8_0 for Q5_0 / IQ4_NL.
float qk_dot_legacy_ref(int type, const uint8_t *w, const void *a, long nb);
#if defined(__x86_64__)
float qk_dot_q4_1_avx2(const uint8_t *w, const void *a, long nb);
float qk_dot_q5_0_avx2(const uint8_t *w, const void *a, long nb);
float qk_dot_q5_1_avx2(const uint8_t *w, const void *a, long nb);
float qk_dot_iq4_nl_avx2(const uint8_t *w, const void *a, long nb);
void qk_dot4_q4_1_avx2(const uint8_t *w, const void *const a[4], long nb, float out[4]);
void qk_dot4_q5_0_avx2(const uint8_t *w, const void *const a[4], long nb, float out[4]);
void qk_dot4_q5_1_avx2(const uint8_t *w, const void *const a[4], long nb, float out[4]);
void qk_dot4_iq4_nl_avx2(const uint8_t *w, const void *const a[4], long nb, float out[4]);
void qk_dot8_q4_1_avx2(const uint8_t *w, const void *const a[8], long nb, float out[8], const tile_sums *ts);
void qk_dot8_q5_0_avx2(const uint8_t *w, const void *const a[8], long nb, float out[8], const tile_sums *ts);
void qk_dot8_q5_1_avx2(const uint8_t *w, const void *const a[8], long nb, float out[8], const tile_sums *ts);
void qk_dot8_iq4_nl_avx2(const uint8_t *w, const void *const a[8], long nb, float out[8], const tile_sums *ts);
#endif

// MARK: - Q2_K dots in the ggml layout (quant_q2_K.c): plain twin, AVX2

float qk_dot_q2_K_ref(const uint8_t *w, const act_q8_k *a, long nb);
#if defined(__x86_64__)
float qk_dot_q2_K_avx2(const uint8_t *w, const act_q8_k *a, long nb);
void qk_dot4_q2_K_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]);
void qk_dot8_q2_K_avx2(const uint8_t *w, const act_q8_k *const a[8], long nb, float out[8], const tile_sums *ts);
#endif

// MARK: - Repacked Q4_K / Q5_K / Q6_K (quant_x16_k.c): 16 rows × one super-block per packed block

#define X16_Q8_0_BLOCK 544  // 16 × 34 (quant_x16.c)
#define X16_Q4_K_BLOCK 2304 // 16 × 144
#define X16_Q5_K_BLOCK 2816 // 16 × 176: d, dmin, scales (256 bytes), the 16 rows' qh (512), then qs (2048)
#define X16_Q5_K_QS 768     // offset of qs in a packed Q5_K block
#define X16_Q6_K_BLOCK 3328 // 16 × 208: scales (256 bytes), then the bit planes; the 16 scales d of each super-block (32 bytes) follow the group's blocks

void qk_x16_k_block(int type, uint8_t *group, long nb, long b, int r, uint8_t *row, int unpack);
float qk_x16_k_dot_ref(int type, const uint8_t *group, long nb, long b, int r, const act_q8_k *a, float acc);
#if defined(__x86_64__)
void qk_x16_k_gemm_vnni(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                        long group0, long group1);
#endif

// MARK: - Repacked IQ4_XS / Q3_K / Q2_K (quant_x16_k2.c), reached through quant_x16.c's qk_x16_* switches

#define QK_X16_K2 QK_Q2_K: case QK_Q3_K: case QK_IQ4_XS
#define X16_IQ4_XS_BLOCK 2176 // 16 × 136
#define X16_Q3_K_BLOCK 1728   // 16 × 108: the 16 scales d of each super-block (32 bytes) follow the group's blocks
#define X16_Q2_K_BLOCK 1344   // 16 × 84

void qk_x16_k2_block(int type, uint8_t *group, long nb, long b, int r, uint8_t *row, int unpack);
float qk_x16_k2_dot_ref(int type, const uint8_t *group, long nb, long b, int r, const act_q8_k *a, float acc);
#if defined(__x86_64__)
void qk_x16_k2_gemm_vnni(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                         long group0, long group1);
#endif

// MARK: - Repacked 32-column legacy formats (quant_x16_legacy.c), reached through quant_x16.c's qk_x16_* switches

#define QK_X16_LEGACY QK_Q4_0: case QK_Q4_1: case QK_Q5_0: case QK_Q5_1: case QK_IQ4_NL
long qk_x16l_bytes(int type, long rows, long k);
long qk_x16l_act_bytes(long k);
void qk_x16l_quantize_act(int type, const float *x, long k, long tokens, void *out);
void qk_x16l_repack(int type, const void *src, long k, void *dst, long group0, long group1);
void qk_x16l_repack_ref(int type, const void *src, long k, void *dst, long group0, long group1);
void qk_x16l_unpack(int type, const void *packed, long k, void *dst, long group0, long group1);
void qk_x16l_gemm_ref(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                      long group0, long group1);
#if defined(__x86_64__)
void qk_x16l_gemm(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy,
                  long group0, long group1);
#endif

#endif
