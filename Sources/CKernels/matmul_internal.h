// Shared between matmul.c (dispatch, AVX-512 and portable paths) and matmul_avx2.c. Not part of the module's
// public header.
#ifndef QWENKIT_MATMUL_INTERNAL_H
#define QWENKIT_MATMUL_INTERNAL_H

#if defined(__x86_64__)
/// AVX2 + FMA + F16C twins of the AVX-512 float kernels (same contracts as qk_gemv / qk_gemm / qk_read_sum).
void qk_gemv_avx2(int dtype, const void *w, long k, const float *x, long tokens,
                  float *y, long ldy, long row0, long row1);
void qk_gemm_avx2(int dtype, const void *w, long k, const float *x, long tokens,
                  float *y, long ldy, long col0, long col1);
float qk_read_sum_avx2(const float *p, long n);
#endif

#endif
