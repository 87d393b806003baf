#include "CKernels.h"

int qk_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? 1 : 0;
#else
    return 0;
#endif
}

int qk_has_avx2(void) {
#if defined(__x86_64__)
    static int has = -1;   // checked once: the kernels ask on every call
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") ? 1 : 0;
    }
    return has;
#else
    return 0;
#endif
}

int qk_simd_level(void) {
    static int level = -1;   // checked once: gemm_f32.c asks on each of thousands of calls per prefill
    if (level < 0) level = qk_has_avx512() ? 2 : qk_has_avx2() ? 1 : 0;
    return level;
}

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void qk_keep_large_allocations(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}
