// Quantised-weight matmul: activations quantised once per matmul to 8 bits per block, then integer dot
// products against the stored ggml blocks (as ggml's vec_dot_q8_0_q8_0 / vec_dot_q4_K_q8_K), combined in f32
// with the block scales. AVX-512 VNNI (vpdpbusd: u8 × s8 → s32) where the CPU has it, else the plain twin.
// Block layouts follow ggml-common.h: block_q8_0 {f16 d; int8 qs[32]}, block_q4_K {f16 d, dmin; u8 scales[12];
// u8 qs[128]}.
#include "CKernels.h"
#include "quant_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif


int qk_has_avx512_vnni(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") ? 1 : 0;
#else
    return 0;
#endif
}

_Noreturn void qk_unknown_type(const char *where, int type) {
    fprintf(stderr, "qwenkit: %s: no quantised kernel for ggml type %d\n", where, type);
    abort();
}

// MARK: - Activation blocks

long qk_act_bytes(int type, long k) {
    switch (type) {
    case QK_Q8_0: case QK_Q4_0: case QK_Q5_0: case QK_IQ4_NL: return k / 32 * (long)sizeof(act_q8_0);
    case QK_Q4_1: case QK_Q5_1: return k / 32 * (long)sizeof(act_q8_1);
    case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: case QK_IQ4_XS: case QK_Q3_K: case QK_Q2_K:
        return k / 256 * (long)sizeof(act_q8_k);
    default: qk_unknown_type("qk_act_bytes", type);
    }
}

float qk_quantize_block(const float *x, int n, int8_t *q, int *sum) {
    float amax = 0;
    for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
    float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0;
    int s = 0;
    for (int i = 0; i < n; i++) s += q[i] = (int8_t)lrintf(x[i] * id);
    if (sum) *sum = s;
    return d;
}

void qk_quantize_act(int type, const float *x, long k, long tokens, void *out) {
    for (long t = 0; t < tokens; t++) {
        const float *xt = x + t * k;
        char *o = (char *)out + t * qk_act_bytes(type, k);
        switch (type) {
        case QK_Q8_0: case QK_Q4_0: case QK_Q5_0: case QK_IQ4_NL:
            for (long b = 0; b < k / 32; b++) {
                act_q8_0 *a = (act_q8_0 *)o + b;
                a->d = qk_quantize_block(xt + b * 32, 32, a->q, NULL);
            }
            break;
        case QK_Q4_1: case QK_Q5_1:
            for (long b = 0; b < k / 32; b++) {
                act_q8_1 *a = (act_q8_1 *)o + b;
                int sum;
                a->d = qk_quantize_block(xt + b * 32, 32, a->q, &sum);
                a->s = sum;
            }
            break;
        case QK_Q4_K: case QK_Q5_K: case QK_Q6_K: case QK_IQ4_XS: case QK_Q3_K: case QK_Q2_K:
            for (long b = 0; b < k / 256; b++) {
                act_q8_k *a = (act_q8_k *)o + b;
                a->d = qk_quantize_block(xt + b * 256, 256, a->q, NULL);
                for (int j = 0; j < 16; j++) {
                    int s = 0;
                    for (int i = 0; i < 16; i++) s += a->q[16 * j + i];
                    a->sums[j] = (int16_t)s;
                }
            }
            break;
        default: qk_unknown_type("qk_quantize_act", type);
        }
    }
}

// MARK: - Plain twins

/// Q6_K block result from Σ sc_g·((q+32)·x)_g: the +32 comes back as −32·Σ sc_g·Σx_g (sums per 16).
INLINE float q6_K_block(const uint8_t *w, const act_q8_k *a, int sumi) {
    const int8_t *sc = (const int8_t *)(w + 192);
    int offset = 0;
    for (int g = 0; g < 16; g++) offset += sc[g] * a->sums[g];
    uint16_t dh;
    memcpy(&dh, w + 208, 2);
    return a->d * qk_f16_to_f32(dh) * (float)(sumi - 32 * offset);
}

static float dot_q8_0_ref(const uint8_t *w, const act_q8_0 *a, long nb) {
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 34) {
        int s = 0;
        for (int i = 0; i < 32; i++) s += (int)(int8_t)w[2 + i] * a[b].q[i];
        uint16_t d;
        memcpy(&d, w, 2);
        sum += qk_f16_to_f32(d) * a[b].d * (float)s;
    }
    return sum;
}

static float dot_q4_K_ref(const uint8_t *w, const act_q8_k *a, long nb) {
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 144) {
        const uint8_t *scales = w + 4, *qs = w + 16;
        int sumi = 0, mins[8];
        for (int j = 0; j < 8; j++) {
            int sc;
            scale_min_k4(j, scales, &sc, &mins[j]);
            int s = 0;
            for (int l = 0; l < 32; l++) {
                int q = j % 2 == 0 ? qs[32 * (j / 2) + l] & 0xF : qs[32 * (j / 2) + l] >> 4;
                s += q * a[b].q[32 * j + l];
            }
            sumi += sc * s;
        }
        sum += q4_K_block(w, a + b, mins, sumi);
    }
    return sum;
}

/// Q6_K: q = (4 low bits | 2 high bits << 4) − 32, one int8 scale per 16 elements (ggml dequantize_row_q6_K).
static float dot_q6_K_ref(const uint8_t *w, const act_q8_k *a, long nb) {
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 210) {
        const uint8_t *ql = w, *qh = w + 128;
        const int8_t *sc = (const int8_t *)(w + 192);
        uint16_t dh;
        memcpy(&dh, w + 208, 2);
        int q[256];
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < 32; l++) {
                int h = qh[32 * half + l];
                q[128 * half + l] = ((ql[64 * half + l] & 0xF) | ((h & 3) << 4)) - 32;
                q[128 * half + l + 32] = ((ql[64 * half + l + 32] & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                q[128 * half + l + 64] = ((ql[64 * half + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
                q[128 * half + l + 96] = ((ql[64 * half + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
            }
        }
        int sumi = 0;
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += q[16 * g + i] * a[b].q[16 * g + i];
            sumi += sc[g] * s;
        }
        sum += a[b].d * qk_f16_to_f32(dh) * (float)sumi; // q already has the −32: no offset term
    }
    return sum;
}

void qk_qgemv_ref(int type, const void *w, long k, const void *xq, long tokens, float *y, long ldy, long row0, long row1) {
    long ab = qk_act_bytes(type, k);
    for (long o = row0; o < row1; o++) {
        for (long t = 0; t < tokens; t++) {
            const void *a = (const char *)xq + t * ab;
            switch (type) {
            case QK_Q8_0: y[t * ldy + o] = dot_q8_0_ref((const uint8_t *)w + o * (k / 32 * 34), a, k / 32); break;
            case QK_Q4_K: y[t * ldy + o] = dot_q4_K_ref((const uint8_t *)w + o * (k / 256 * 144), a, k / 256); break;
            case QK_Q6_K: y[t * ldy + o] = dot_q6_K_ref((const uint8_t *)w + o * (k / 256 * 210), a, k / 256); break;
            case QK_Q4_0: y[t * ldy + o] = qk_dot_q4_0_ref((const uint8_t *)w + o * (k / 32 * 18), a, k / 32); break;
            case QK_Q5_K: y[t * ldy + o] = qk_dot_q5_K_ref((const uint8_t *)w + o * (k / 256 * 176), a, k / 256); break;
            case QK_IQ4_XS: y[t * ldy + o] = qk_dot_iq4_xs_ref((const uint8_t *)w + o * (k / 256 * 136), a, k / 256); break;
            case QK_Q3_K: y[t * ldy + o] = qk_dot_q3_K_ref((const uint8_t *)w + o * (k / 256 * 110), a, k / 256); break;
            case QK_Q2_K: y[t * ldy + o] = qk_dot_q2_K_ref((const uint8_t *)w + o * (k / 256 * 84), a, k / 256); break;
            case QK_Q4_1: case QK_Q5_0: case QK_Q5_1: case QK_IQ4_NL:
                y[t * ldy + o] = qk_dot_legacy_ref(type, (const uint8_t *)w + o * (k / 32 * qk_legacy_block_bytes(type)),
                                                   a, k / 32);
                break;
            default: qk_unknown_type("qk_qgemv_ref", type);
            }
        }
    }
}

// MARK: - AVX-512 VNNI

#if defined(__x86_64__)

/// Chunk c (0-7, elements 32c..32c + 31) of a Q6_K block as its six-bit values q + 32 in [0, 63] (ggml
/// dequantize_row_q6_K's ql/qh bit layout: half c / 4 has ql at 64·half, qh at 128 + 32·half; quarter c % 4 takes
/// the low (0, 1) or high (2, 3) nibbles of ql's first or second 32 bytes and qh's bits 2·(c % 4)).
AVX2 INLINE __m256i q6_K_chunk(const uint8_t *w, int c) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
    int half = c >> 2, quarter = c & 3;
    __m256i l = _mm256_loadu_si256((const __m256i *)(w + 64 * half + 32 * (quarter & 1)));
    __m256i h = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * half));
    if (quarter >= 2) l = _mm256_srli_epi16(l, 4);
    if (quarter) h = _mm256_srli_epi16(h, 2 * quarter);
    return _mm256_or_si256(_mm256_and_si256(l, low4), _mm256_slli_epi16(_mm256_and_si256(h, two), 4));
}

/// The 128 values of half h of a Q6_K block, in element order: q[i] = chunk 4h + i.
AVX2 INLINE void q6_K_unpack(const uint8_t *w, int h, __m256i q[4]) {
    for (int i = 0; i < 4; i++) q[i] = q6_K_chunk(w, 4 * h + i);
}

/// Two Q8_0 blocks (64 weights) against two activation blocks: int32 lanes 0-7 block 0, 8-15 block 1.
/// vpdpbusd wants u8 × s8: |w| (exact even for -128) times x with w's sign.
VNNI INLINE __m512 dot2_q8_0(const uint8_t *w, const act_q8_0 *a, __m512 acc) {
    __m512i wq = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(w + 2))),
                                    _mm256_loadu_si256((const __m256i *)(w + 36)), 1);
    __m512i xq = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a[0].q)),
                                    _mm256_loadu_si256((const __m256i *)a[1].q), 1);
    __m512i aw = _mm512_abs_epi8(wq);
    __mmask64 neg = _mm512_movepi8_mask(wq);
    __m512i sx = _mm512_mask_sub_epi8(xq, neg, _mm512_setzero_si512(), xq);
    __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), aw, sx);
    uint16_t d0, d1;
    memcpy(&d0, w, 2);
    memcpy(&d1, w + 34, 2);
    __m512 scale = _mm512_insertf32x8(_mm512_set1_ps(_cvtsh_ss(d0) * a[0].d), _mm256_set1_ps(_cvtsh_ss(d1) * a[1].d), 1);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc);
}

VNNI static float dot_q8_0_vnni(const uint8_t *w, const act_q8_0 *a, long nb) {
    __m512 acc = _mm512_setzero_ps();
    long b = 0;
    for (; b + 2 <= nb; b += 2) acc = dot2_q8_0(w + b * 34, a + b, acc);
    float sum = _mm512_reduce_add_ps(acc);
    if (b < nb) sum += dot_q8_0_ref(w + b * 34, a + b, nb - b);
    return sum;
}

/// Prefill tile: one Q8_0 row against 4 tokens, so each weight block is loaded, sign-split and scaled once
/// for 4 dot products (the decode dot above does all of that per token). out[j] = dot(row, token j).
VNNI static void dot4_q8_0_vnni(const uint8_t *w, const act_q8_0 *const a[4], long nb, float out[4]) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    long b = 0;
    for (; b + 2 <= nb; b += 2) {
        const uint8_t *wb = w + b * 34;
        __m512i wq = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(wb + 2))),
                                        _mm256_loadu_si256((const __m256i *)(wb + 36)), 1);
        __m512i aw = _mm512_abs_epi8(wq);
        __mmask64 neg = _mm512_movepi8_mask(wq);
        uint16_t d0, d1;
        memcpy(&d0, wb, 2);
        memcpy(&d1, wb + 34, 2);
        float w0 = _cvtsh_ss(d0), w1 = _cvtsh_ss(d1);
        for (int j = 0; j < 4; j++) {
            const act_q8_0 *x = a[j] + b;
            __m512i xq = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)x[0].q)),
                                            _mm256_loadu_si256((const __m256i *)x[1].q), 1);
            __m512i sx = _mm512_mask_sub_epi8(xq, neg, _mm512_setzero_si512(), xq);
            __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), aw, sx);
            __m512 scale = _mm512_insertf32x8(_mm512_set1_ps(w0 * x[0].d), _mm256_set1_ps(w1 * x[1].d), 1);
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[j]);
        }
    }
    for (int j = 0; j < 4; j++) {
        out[j] = _mm512_reduce_add_ps(acc[j]);
        if (b < nb) out[j] += dot_q8_0_ref(w + b * 34, a[j] + b, nb - b);
    }
}

/// Q4_K group g (64 weights): the 32 bytes of elements 64g..64g+31 (low nibbles) and 64g+32..64g+63 (high), as
/// one 64-byte row of u8; and that group's two sub-block scales, one per 256-bit half. Shared by the single-token
/// and 4-token dots so both read the block the same way.
VNNI INLINE __m512i q4_K_nibbles(const uint8_t *qs, int g) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, low4)),
                              _mm256_and_si256(_mm256_srli_epi16(q, 4), low4), 1);
}

VNNI INLINE __m512i q4_K_group_scales(const int sc[8], int g) {
    return _mm512_inserti64x4(_mm512_set1_epi32(sc[2 * g]), _mm256_set1_epi32(sc[2 * g + 1]), 1);
}

VNNI static float dot_q4_K_vnni(const uint8_t *w, const act_q8_k *a, long nb) {
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 144) {
        const uint8_t *qs = w + 16;
        int sc[8], m[8];
        q4_K_scales(w, sc, m);
        __m512i sumi = _mm512_setzero_si512();
        for (int g = 0; g < 4; g++) {
            // 32 bytes hold elements 64g..64g+31 (low nibbles) and 64g+32..64g+63 (high): one 64-byte row.
            __m512i wq = q4_K_nibbles(qs, g);
            __m512i xq = _mm512_loadu_si512((const void *)(a[b].q + 64 * g));
            __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, xq);
            __m512i s = q4_K_group_scales(sc, g);
            sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(dot, s));
        }
        sum += q4_K_block(w, a + b, m, _mm512_reduce_add_epi32(sumi));
    }
    return sum;
}

/// Prefill tile for Q4_K: nibbles and scales unpacked once per block for 4 tokens.
VNNI static void dot4_q4_K_vnni(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]) {
    for (int j = 0; j < 4; j++) out[j] = 0;
    for (long b = 0; b < nb; b++, w += 144) {
        const uint8_t *qs = w + 16;
        int sc[8], m[8];
        q4_K_scales(w, sc, m);
        __m512i sumi[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
        for (int g = 0; g < 4; g++) {
            __m512i wq = q4_K_nibbles(qs, g);
            __m512i s = q4_K_group_scales(sc, g);
            for (int j = 0; j < 4; j++) {
                __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, _mm512_loadu_si512((const void *)(a[j][b].q + 64 * g)));
                sumi[j] = _mm512_add_epi32(sumi[j], _mm512_mullo_epi32(dot, s));
            }
        }
        for (int j = 0; j < 4; j++) out[j] += q4_K_block(w, a[j] + b, m, _mm512_reduce_add_epi32(sumi[j]));
    }
}

/// Q6_K with u8 × s8 dots on q + 32 ∈ [0, 63]; the offset comes back as −32 · Σ_g sc_g · Σx_g (sums per 16).
VNNI static float dot_q6_K_vnni(const uint8_t *w, const act_q8_k *a, long nb) {
    const __m128i pattern = _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    float sum = 0;
    for (long b = 0; b < nb; b++, w += 210) {
        __m128i scv = _mm_loadu_si128((const __m128i *)(w + 192));
        __m512i sumi = _mm512_setzero_si512();
        for (int half = 0; half < 2; half++) {
            __m256i q[4];
            q6_K_unpack(w, half, q);
            for (int c = 0; c < 2; c++) {
                int chunk = 2 * half + c; // 64 elements, 4 scale groups
                __m512i wq = _mm512_inserti64x4(_mm512_castsi256_si512(q[2 * c]), q[2 * c + 1], 1);
                __m512i xq = _mm512_loadu_si512((const void *)(a[b].q + 64 * chunk));
                __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, xq);
                __m128i idx = _mm_add_epi8(pattern, _mm_set1_epi8((char)(4 * chunk)));
                sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(dot, _mm512_cvtepi8_epi32(_mm_shuffle_epi8(scv, idx))));
            }
        }
        sum += q6_K_block(w, a + b, _mm512_reduce_add_epi32(sumi));
    }
    return sum;
}

// MARK: - AVX2 (no VNNI): vpmaddubsw (u8 × s8 pairs → s16) then vpmaddwd by the scale (→ s32)

/// One Q8_0 block (|w| and w's 32 int8 weights, scale dw) against one activation block, added to acc: the step
/// the 1- and 4-token dots share, so a row's result does not depend on how many tokens share the call.
AVX2 INLINE __m256 q8_0_step_avx2(__m256i aw, __m256i wq, float dw, const act_q8_0 *x, __m256 acc) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i xq = _mm256_loadu_si256((const __m256i *)x->q);
    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xq, wq)), ones);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * x->d), acc);
}

AVX2 static float dot_q8_0_avx2(const uint8_t *w, const act_q8_0 *a, long nb) {
    __m256 acc = _mm256_setzero_ps();
    for (long b = 0; b < nb; b++, w += 34) {
        prefetch_ahead(w, 34);
        __m256i wq = _mm256_loadu_si256((const __m256i *)(w + 2));
        acc = q8_0_step_avx2(_mm256_sign_epi8(wq, wq), wq, f16_scale(w), a + b, acc);
    }
    return hsum256(acc);
}

/// Prefill tile: one Q8_0 row against 4 tokens; each block is loaded, made unsigned and its scale widened once.
AVX2 static void dot4_q8_0_avx2(const uint8_t *w, const act_q8_0 *const a[4], long nb, float out[4]) {
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (long b = 0; b < nb; b++, w += 34) {
        __m256i wq = _mm256_loadu_si256((const __m256i *)(w + 2)), aw = _mm256_sign_epi8(wq, wq);
        float dw = f16_scale(w);
        for (int j = 0; j < 4; j++) acc[j] = q8_0_step_avx2(aw, wq, dw, a[j] + b, acc[j]);
    }
    for (int j = 0; j < 4; j++) out[j] = hsum256(acc[j]);
}

AVX2 INLINE void q4_K_nibbles_avx2(const uint8_t *qs, int g, __m256i *lo, __m256i *hi) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * g));
    *lo = _mm256_and_si256(q, low4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
}

/// The integer sums of one Q4_K block against one token (shared by the 1-token dot and the tiles): the scaled
/// q·x per lane, returned, and in *summ the mins term m_j·Σx_j per lane.
AVX2 INLINE __m256i q4_K_block_sums(const uint8_t *w, const act_q8_k *x, __m256i *summ) {
    uint32_t u[4];
    q4_K_scales_mins(w + 4, u);
    __m256i sc16 = q4_K_scales16(u), sumi = _mm256_setzero_si256();
    for (int g = 0; g < 4; g++) {
        __m256i lo, hi;
        q4_K_nibbles_avx2(w + 16, g, &lo, &hi);
        sumi = q4_K_step_avx2(lo, hi, q4_K_scale(sc16, 2 * g), q4_K_scale(sc16, 2 * g + 1), g, x, sumi);
    }
    *summ = q4_K_summ(u, x);
    return sumi;
}

/// Blocks b0..b0 + n − 1 (n ≤ 4) of one row and token, added to sum in order. Called with a literal 4 for
/// whole groups, so that the group stays in registers.
AVX2 INLINE float q4_K_group(const uint8_t *w, const act_q8_k *a, long b0, int n, float sum) {
    block_group g;
    block_group_clear(&g);
    for (int i = 0; i < n; i++) {
        const uint8_t *wb = w + 144 * (b0 + i);
        prefetch_ahead(wb, 144);
        g.sumi[i] = q4_K_block_sums(wb, a + b0 + i, &g.aux[i]);
        g.d[i] = f16_scale(wb);
        g.dmin[i] = f16_scale(wb + 2);
        g.ad[i] = a[b0 + i].d;
    }
    return q4_K_finish(&g, n, sum);
}

AVX2 static float dot_q4_K_avx2(const uint8_t *w, const act_q8_k *a, long nb) {
    return grouped_dot(q4_K_group, w, a, nb);
}

/// Prefill tile for Q4_K: one row against nt (4 or 8) tokens. Scales and nibbles are unpacked once per block
/// for all nt tokens and the block results of 4 tokens share one vector; per token the integer sums and float
/// operations of dot_q4_K_avx2. 8 tokens: 53 cycles per block and 4 tokens on Zen 3, against 66 for 4.
AVX2 INLINE void q4_K_tile_avx2(const uint8_t *w, const act_q8_k *const *a, long nb, float *out, int nt,
                                const tile_sums *ts) {
    __m128 acc[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (long b = 0; b < nb; b++, w += 144) {
        prefetch_ahead(w, 144);
        uint32_t u[4];
        q4_K_scales_mins(w + 4, u);
        __m256i sc16 = q4_K_scales16(u), sumi[8];
        for (int j = 0; j < nt; j++) sumi[j] = _mm256_setzero_si256();
        for (int g = 0; g < 4; g++) {
            __m256i lo, hi, s0 = q4_K_scale(sc16, 2 * g), s1 = q4_K_scale(sc16, 2 * g + 1);
            q4_K_nibbles_avx2(w + 16, g, &lo, &hi);
            for (int j = 0; j < nt; j++) sumi[j] = q4_K_step_avx2(lo, hi, s0, s1, g, a[j] + b, sumi[j]);
        }
        q4_K_tile_finish(acc, w, u, a, b, sumi, nt, ts ? ts + b : NULL);
    }
    for (int i = 0; i < nt / 4; i++) _mm_storeu_ps(out + 4 * i, acc[i]);
}

AVX2 static void dot4_q4_K_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]) {
    q4_K_tile_avx2(w, a, nb, out, 4, NULL);
}

AVX2 static void dot8_q4_K_avx2(const uint8_t *w, const act_q8_k *const a[8], long nb, float out[8],
                                const tile_sums *ts) {
    q4_K_tile_avx2(w, a, nb, out, 8, ts);
}

/// The 16 int8 scales of a Q6_K block as int16 (scales 0-7 in the low 128 bits, 8-15 in the high).
AVX2 INLINE __m256i q6_K_scales16(const uint8_t *w) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 192)));
}

/// Blocks b0..b0 + n − 1 (n ≤ 4) of one row and token, added to sum in order (a literal 4 for whole groups).
AVX2 INLINE float q6_K_group(const uint8_t *w, const act_q8_k *a, long b0, int n, float sum) {
    block_group g;
    block_group_clear(&g);
    for (int i = 0; i < n; i++) {
        const uint8_t *wb = w + 210 * (b0 + i);
        const act_q8_k *x = a + b0 + i;
        prefetch_ahead(wb, 210);
        __m256i sc16 = q6_K_scales16(wb), sumi = _mm256_setzero_si256();
        for (int half = 0; half < 2; half++) {
            __m256i q[4], sh = scales16_half(sc16, half);
            q6_K_unpack(wb, half, q);
            for (int c = 0; c < 4; c++) sumi = chunk_step(q[c], chunk_scales16(sh, c), 4 * half + c, x, sumi);
        }
        g.sumi[i] = sumi;
        g.aux[i] = offset16(sc16, x);
        g.d[i] = f16_scale(wb + 208);
        g.ad[i] = x->d;
    }
    return offset_finish(&g, n, sum, 5);
}

AVX2 static float dot_q6_K_avx2(const uint8_t *w, const act_q8_k *a, long nb) {
    return grouped_dot(q6_K_group, w, a, nb);
}

/// Prefill tile for Q6_K: one row against nt (4 or 8) tokens, each half block unpacked once for all of them;
/// per token the integer sums and float operations of dot_q6_K_avx2.
AVX2 INLINE void q6_K_tile_avx2(const uint8_t *w, const act_q8_k *const *a, long nb, float *out, int nt,
                                const tile_sums *ts) {
    __m128 acc[2] = {_mm_setzero_ps(), _mm_setzero_ps()};
    for (long b = 0; b < nb; b++, w += 210) {
        prefetch_ahead(w, 210);
        __m256i sumi[8];
        for (int j = 0; j < nt; j++) sumi[j] = _mm256_setzero_si256();
        __m256i sc16 = q6_K_scales16(w);
        // One chunk's values at a time: all four of a half beside 8 token sums spilled to the stack.
        for (int half = 0; half < 2; half++) {
            __m256i sh = scales16_half(sc16, half);
            for (int c = 4 * half; c < 4 * half + 4; c++) {
                __m256i q = q6_K_chunk(w, c), sc = chunk_scales16(sh, c);
                for (int j = 0; j < nt; j++) sumi[j] = chunk_step(q, sc, c, a[j] + b, sumi[j]);
                tile_sums_settle(sumi, nt);
            }
        }
        offset_tile(acc, f16_scale(w + 208), a, b, sumi, sc16, 5, nt, ts ? ts + b : NULL);
    }
    for (int i = 0; i < nt / 4; i++) _mm_storeu_ps(out + 4 * i, acc[i]);
}

AVX2 static void dot4_q6_K_avx2(const uint8_t *w, const act_q8_k *const a[4], long nb, float out[4]) {
    q6_K_tile_avx2(w, a, nb, out, 4, NULL);
}

AVX2 static void dot8_q6_K_avx2(const uint8_t *w, const act_q8_k *const a[8], long nb, float out[8],
                                const tile_sums *ts) {
    q6_K_tile_avx2(w, a, nb, out, 8, ts);
}
#endif

/// Kernel path: 2 AVX-512 VNNI, 1 AVX2, 0 plain; -1 until first use (then the best the CPU has).
static int quant_path = -1;

static int best_quant_path(void) {
#if defined(__x86_64__)
    if (qk_has_avx512_vnni()) return 2;
    if (qk_has_avx2()) return 1;
#endif
    return 0;
}

void qk_quant_force_path(int path) { quant_path = path < 0 ? best_quant_path() : path; }
int qk_quant_path(void) {
    if (quant_path < 0) quant_path = best_quant_path();
    return quant_path;
}

typedef float (*dot_fn)(const uint8_t *, const void *, long);
typedef void (*dot4_fn)(const uint8_t *, const void *const *, long, float *);

#if defined(__x86_64__)
typedef void (*dot8_fn)(const uint8_t *, const void *const *, long, float *, const tile_sums *);

/// This thread's tile_sums buffer, grown to n entries (never shrunk: one per compute thread).
static __thread tile_sums *ts_buf = NULL;
static __thread long ts_cap = 0;
static tile_sums *tile_sums_buffer(long n) {
    if (ts_cap < n) {
        free(ts_buf);
        ts_buf = aligned_alloc(32, (size_t)n * sizeof *ts_buf);
        if (!ts_buf) {
            fprintf(stderr, "qwenkit: qk_qgemv: cannot allocate %ld activation sums\n", n);
            abort();
        }
        ts_cap = n;
    }
    return ts_buf;
}
#endif

#if defined(__x86_64__)
/// A format's kernels on quantised path 1 (AVX2) or 2 (AVX-512 VNNI, weights not repacked): the 1-token dot, the
/// 4- and 8-token tiles (NULL: none; per token they take the dot's steps), the block geometry, and the sub-block
/// size of the activation sums its 8-token tile reads (tile_sums; 0: none).
typedef struct { dot_fn dot; dot4_fn dot4; dot8_fn dot8; int elems, bytes, sums; } tile_kernels;

static tile_kernels tile_kernels_of(int type, int path) {
    tile_kernels t;
    switch (type) {
    case QK_Q8_0: t = (tile_kernels){(dot_fn)dot_q8_0_avx2, (dot4_fn)dot4_q8_0_avx2, NULL, 32, 34, 0}; break;
    case QK_Q4_0: t = (tile_kernels){(dot_fn)qk_dot_q4_0_avx2, NULL, NULL, 32, 18, 0}; break;
    case QK_Q4_K: t = (tile_kernels){(dot_fn)dot_q4_K_avx2, (dot4_fn)dot4_q4_K_avx2, (dot8_fn)dot8_q4_K_avx2, 256, 144, 32}; break;
    case QK_Q5_K: t = (tile_kernels){(dot_fn)qk_dot_q5_K_avx2, (dot4_fn)qk_dot4_q5_K_avx2, (dot8_fn)qk_dot8_q5_K_avx2, 256, 176, 32}; break;
    case QK_Q6_K: t = (tile_kernels){(dot_fn)dot_q6_K_avx2, (dot4_fn)dot4_q6_K_avx2, (dot8_fn)dot8_q6_K_avx2, 256, 210, 16}; break;
    case QK_Q3_K: t = (tile_kernels){(dot_fn)qk_dot_q3_K_avx2, (dot4_fn)qk_dot4_q3_K_avx2, (dot8_fn)qk_dot8_q3_K_avx2, 256, 110, 16}; break;
    case QK_Q2_K: t = (tile_kernels){(dot_fn)qk_dot_q2_K_avx2, (dot4_fn)qk_dot4_q2_K_avx2, (dot8_fn)qk_dot8_q2_K_avx2, 256, 84, 16}; break;
    case QK_IQ4_XS: t = (tile_kernels){(dot_fn)qk_dot_iq4_xs_avx2, (dot4_fn)qk_dot4_iq4_xs_avx2, (dot8_fn)qk_dot8_iq4_xs_avx2, 256, 136, 0}; break;
    case QK_Q4_1: t = (tile_kernels){(dot_fn)qk_dot_q4_1_avx2, (dot4_fn)qk_dot4_q4_1_avx2, (dot8_fn)qk_dot8_q4_1_avx2, 32, 20, 0}; break;
    case QK_Q5_0: t = (tile_kernels){(dot_fn)qk_dot_q5_0_avx2, (dot4_fn)qk_dot4_q5_0_avx2, (dot8_fn)qk_dot8_q5_0_avx2, 32, 22, 0}; break;
    case QK_Q5_1: t = (tile_kernels){(dot_fn)qk_dot_q5_1_avx2, (dot4_fn)qk_dot4_q5_1_avx2, (dot8_fn)qk_dot8_q5_1_avx2, 32, 24, 0}; break;
    case QK_IQ4_NL: t = (tile_kernels){(dot_fn)qk_dot_iq4_nl_avx2, (dot4_fn)qk_dot4_iq4_nl_avx2, (dot8_fn)qk_dot8_iq4_nl_avx2, 32, 18, 0}; break;
    default: qk_unknown_type("qk_qgemv", type);
    }
    if (path != 2) return t;
    // VNNI: no 8-token tiles (the AVX2 ones hold 8 sums in 16 ymm registers); the formats with VNNI dots use them
    // and their VNNI 4-token tile or none (a token's steps must be the same in every tile). The rest (IQ4_XS, Q3_K,
    // Q2_K, the 32-element formats) keep AVX2: VNNI CPUs run them repacked (x16) unless QWENKIT_NO_REPACK.
    t.dot8 = NULL;
    t.sums = 0;
    switch (type) {
    case QK_Q8_0: t.dot = (dot_fn)dot_q8_0_vnni; t.dot4 = (dot4_fn)dot4_q8_0_vnni; break;
    case QK_Q4_K: t.dot = (dot_fn)dot_q4_K_vnni; t.dot4 = (dot4_fn)dot4_q4_K_vnni; break;
    case QK_Q6_K: t.dot = (dot_fn)dot_q6_K_vnni; t.dot4 = NULL; break;
    case QK_Q4_0: t.dot = (dot_fn)qk_dot_q4_0_vnni; break;
    case QK_Q5_K: t.dot = (dot_fn)qk_dot_q5_K_vnni; t.dot4 = NULL; break;
    default: break;
    }
    return t;
}
#endif

void qk_qgemv(int type, const void *w, long k, const void *xq, long tokens, float *y, long ldy, long row0, long row1) {
    int path = qk_quant_path();
    if (path == 0) {
        qk_qgemv_ref(type, w, k, xq, tokens, y, ldy, row0, row1);
        return;
    }
#if defined(__x86_64__)
    tile_kernels kern = tile_kernels_of(type, path);
    long nb = k / kern.elems, rb = nb * kern.bytes;
    dot_fn dot = kern.dot;
    dot4_fn dot4 = kern.dot4;
    dot8_fn dot8 = kern.dot8;
    long ab = qk_act_bytes(type, k), tiles8 = dot8 ? tokens / 8 : 0;
    // The K-quant 8-token tiles with a mins or offset term read their activation sums from tile_sums, built here
    // once for this call's rows (each work item of a matmul builds its own: ~1-2 % of its tile time).
    tile_sums *ts = NULL;
    if (tiles8 && kern.sums) {
        ts = tile_sums_buffer(tiles8 * nb);
        for (long i = 0; i < tiles8; i++) {
            const act_q8_k *at[8];
            for (int j = 0; j < 8; j++) at[j] = (const act_q8_k *)((const char *)xq + (8 * i + j) * ab);
            tile_sums_build(at, nb, ts + i * nb, kern.sums == 32);
        }
    }
    // Blocks of 64 tokens (their activations stay in L2), and in each 4-row blocks: the rows stay in L1 while
    // every token of the block reads them (the prefill GEMM is this loop).
    for (long t0 = 0; t0 < tokens; t0 += 64) {
        long t1 = t0 + 64 < tokens ? t0 + 64 : tokens;
        for (long r = row0; r < row1; r += 4) {
            long re = r + 4 < row1 ? r + 4 : row1;
            long t = t0;
            // Tiles of 8 tokens, then of 4, then single tokens: per token the same steps whichever it lands in.
            for (int n = 8; n >= 4; n -= 4) {
                for (; (n == 8 ? dot8 != NULL : dot4 != NULL) && t + n <= t1; t += n) {
                    const void *at[8];
                    for (int j = 0; j < n; j++) at[j] = (const char *)xq + (t + j) * ab;
                    for (long o = r; o < re; o++) {
                        float out[8];
                        const uint8_t *wo = (const uint8_t *)w + o * rb;
                        if (n == 8) dot8(wo, at, nb, out, ts ? ts + t / 8 * nb : NULL);
                        else dot4(wo, at, nb, out);
                        for (int j = 0; j < n; j++) y[(t + j) * ldy + o] = out[j];
                    }
                }
            }
            for (; t < t1; t++) {
                const void *a = (const char *)xq + t * ab;
                for (long o = r; o < re; o++) y[t * ldy + o] = dot((const uint8_t *)w + o * rb, a, nb);
            }
        }
    }
#endif
}
