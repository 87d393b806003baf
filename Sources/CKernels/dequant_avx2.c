// Rows of a format that has no integer kernel on CPUs without AVX-512 VNNI (IQ4_NL) dequantised to f32 with
// AVX2, for Kernels' dequantizingMatmul (which then runs the f32 GEMV on them). Each value is the product that
// TensorCore/Dequantize.swift computes (no fused multiply-add), so the result equals that twin bit for bit
// (QuantMatmulTests.testAVX2RowDequantEqualsTwin pins it).
#include "CKernels.h"
#include "quant_internal.h"

#if defined(__x86_64__)

/// kvalues_iq4nl, the 16 levels of IQ4_NL, for a byte shuffle.
static const int8_t iq4nl_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/// y[0..15] = dl · v[0..15] (16 int8 values).
AVX2 INLINE void store16(__m128i v, float dl, float *y) {
    __m256 s = _mm256_set1_ps(dl);
    _mm256_storeu_ps(y, _mm256_mul_ps(s, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v))));
    _mm256_storeu_ps(y + 8, _mm256_mul_ps(s, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(v, 8)))));
}

/// 32 elements from 16 bytes of nibble indices: low nibbles are elements 0-15, high nibbles 16-31.
AVX2 INLINE void iq4_32(const uint8_t *qs, float dl, float *y) {
    const __m128i table = _mm_loadu_si128((const __m128i *)iq4nl_levels), low4 = _mm_set1_epi8(0x0F);
    __m128i q = _mm_loadu_si128((const __m128i *)qs);
    store16(_mm_shuffle_epi8(table, _mm_and_si128(q, low4)), dl, y);
    store16(_mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(q, 4), low4)), dl, y + 16);
}

AVX2 static void iq4_nl_row(const uint8_t *x, float *y, long nb) {
    for (long b = 0; b < nb; b++, x += 18, y += 32) iq4_32(x + 2, f16_scale(x), y);
}

int qk_dequant_row(int type, const void *src, float *dst, long k) {
    if (!qk_has_avx2()) return 0;
    const uint8_t *x = (const uint8_t *)src;
    switch (type) {
    case QK_IQ4_NL: if (k % 32) return 0; iq4_nl_row(x, dst, k / 32); return 1;
    default: return 0;
    }
}

#else
int qk_dequant_row(int type, const void *src, float *dst, long k) {
    (void)type; (void)src; (void)dst; (void)k;
    return 0;
}
#endif
