#ifndef QWENKIT_CKERNELS_H
#define QWENKIT_CKERNELS_H
#include <stdint.h>
#include <stddef.h>

/// 1 when this CPU can run the AVX-512 kernels (checked once at run time).
int qk_has_avx512(void);

#endif
