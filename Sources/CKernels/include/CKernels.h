#ifndef QWENKIT_CKERNELS_H
#define QWENKIT_CKERNELS_H
#include <stdint.h>
#include <stddef.h>

/// 1 when this CPU can run the AVX-512 kernels (checked once at run time).
int qk_has_avx512(void);

/// Weight element types the matmul kernels read directly (values match nothing outside this header;
/// the Swift side maps `DType` onto them). Block-quantized formats get new codes and new branches.
enum {
    QK_F32 = 0,
    QK_F16 = 1,
    QK_BF16 = 2,
};

/// Decode GEMV slice: y[t*ldy + o] = sum_i x[t*k + i] * W[o, i] for o in [row0, row1), t < tokens.
/// `w` is the whole [out, k] weight in `dtype`; f32 accumulation, activations never rounded.
void qk_gemv(int dtype, const void *w, long k, const float *x, long tokens,
             float *y, long ldy, long row0, long row1);

/// Prefill GEMM slice: the same product for output columns [col0, col1) and every token. `col0` must be a
/// multiple of QK_GEMM_NR. Weights are widened to f32 once per NR-column panel into a thread-local packed
/// buffer, reused across all token blocks.
void qk_gemm(int dtype, const void *w, long k, const float *x, long tokens,
             float *y, long ldy, long col0, long col1);

/// Output columns per GEMM panel (the unit of work to split across threads).
#define QK_GEMM_NR 32

/// Tests: 1 forces the portable kernels (as on a CPU without AVX-512), 0 restores run-time dispatch.
void qk_force_portable(int on);

/// Sum of a buffer read with wide loads (memory bandwidth probe for `qwenkit bench --kernels`).
float qk_read_sum(const float *p, long n);

// Keep large allocations (prefill activations) in the heap instead of fresh mmap'd pages per array, so that
// freed activations are reused instead of being faulted in and zeroed again by the kernel. glibc only; a no-op
// elsewhere.
void qk_keep_large_allocations(void);

#endif
