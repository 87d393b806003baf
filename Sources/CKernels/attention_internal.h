// Shared between attention.c (dispatch, AVX-512) and attention_avx2.c. Not part of the module's public header.
#ifndef QWENKIT_ATTENTION_INTERNAL_H
#define QWENKIT_ATTENTION_INTERNAL_H

#define AHEAD 16 // rows prefetched ahead, into L2 (T1): 2 threads, 8k-deep rows of 2 heads × 256, interleaved runs: 16 rows 0.409 ms/layer (bf16), 32 rows 0.434, 64 rows 0.51, 128 slower

#define ATT_INLINE static inline __attribute__((always_inline))

/// Bytes per stored KV element (QK_F32, else a 16-bit type).
ATT_INLINE long elem_bytes(int type) { return type == QK_F32 ? 4 : 2; }

/// The row AHEAD rows after row i of a run of `len` rows `stride` bytes apart: past the run's end it continues
/// into `next` (the following run, another page, same stride) so that a page's first rows are in flight too;
/// without a next run it stays on row i (a harmless prefetch).
ATT_INLINE const char *ahead(const void *rows, const void *next, long i, long len, long stride) {
    long j = i + AHEAD;
    if (j < len) return (const char *)rows + j * stride;
    return next ? (const char *)next + (j - len) * stride : (const char *)rows + i * stride;
}

#if defined(__x86_64__)
/// AVX2 + FMA + F16C twins of the AVX-512 typed kernels (d a multiple of 8, G of 4; same contracts): the
/// accumulate gives the same bits as the AVX-512 kernel (each element takes its products in key order, one fma
/// at a time); a score sums 8 lanes instead of 16.
void qk_attn_scores_avx2(int type, const float *q, long d, long H, long G, const void *k, long ks, long len, float scale,
                         float *s, long ldS, const void *next);
void qk_attn_accumulate_avx2(int type, const float *p, long ldP, long d, long H, long G, const void *v, long vs, long len,
                             float *o, const void *next);
/// Widens the first multiple of 8 of `n` bf16 / f16 values; returns how many.
long qk_widen8_avx2(int type, const void *src, float *dst, long n);
#endif

#endif
