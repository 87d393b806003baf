#ifndef QWENKIT_CKERNELS_H
#define QWENKIT_CKERNELS_H
#include <stdint.h>
#include <stddef.h>

/// 1 when this CPU can run the AVX-512 kernels (checked once at run time).
int qk_has_avx512(void);
/// 1 when this CPU can run the AVX2 kernels: AVX2, FMA and F16C (checked once at run time).
int qk_has_avx2(void);
/// The float kernels' level on this CPU: 2 AVX-512, 1 AVX2 (+ FMA, F16C), 0 portable.
int qk_simd_level(void);

/// Weight element types the float matmul kernels read directly: ggml_type codes, like the block formats
/// below, so no code means two things (qk_gemv / qk_gemm abort on any other code).
enum {
    QK_F32 = 0,
    QK_F16 = 1,
    QK_BF16 = 30,
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

/// Tests: 1 forces the portable kernels (as on a CPU without AVX2), 0 restores run-time dispatch.
void qk_force_portable(int on);

/// The float matmul path in use: 2 AVX-512, 1 AVX2 + FMA + F16C, 0 portable.
int qk_matmul_level(void);
/// Tests and A/B runs: use `level` (never above what the CPU has); -1 restores the best.
void qk_matmul_force_level(int level);

/// Sum of a buffer read with wide loads (memory bandwidth probe for `qwenkit bench --kernels`).
float qk_read_sum(const float *p, long n);

// Keep large allocations (prefill activations) in the heap instead of fresh mmap'd pages per array, so that
// freed activations are reused instead of being faulted in and zeroed again by the kernel. glibc only; a no-op
// elsewhere.
void qk_keep_large_allocations(void);

// MARK: - Quantised weights (quant.c)

/// ggml block formats with integer-dot kernels (codes are ggml_type values). Any other code aborts. Q4_1, Q5_0,
/// Q5_1, IQ4_NL, Q2_K, Q3_K and IQ4_XS have ggml-layout kernels on AVX2 only: AVX-512 VNNI CPUs run their repacked
/// ones (quant_x16_legacy.c, quant_x16_k2.c), unless QWENKIT_NO_REPACK.
enum {
    QK_Q4_0 = 2,
    QK_Q4_1 = 3,
    QK_Q5_0 = 6,
    QK_Q5_1 = 7,
    QK_Q8_0 = 8,
    QK_Q2_K = 10,
    QK_Q3_K = 11,
    QK_Q4_K = 12,
    QK_Q5_K = 13,
    QK_Q6_K = 14,
    QK_IQ4_NL = 20,
    QK_IQ4_XS = 23,
};

/// IEEE half → float (exact, subnormals included).
float qk_f16_to_f32(uint16_t h);

/// 1 when this CPU has AVX-512 VNNI (the int8 dot-product kernels), checked once at run time.
int qk_has_avx512_vnni(void);

/// Bytes of one token's activations quantised for weights of `type` with `k` inputs (k a multiple of the
/// weight block): Q8_0 / Q4_0 / Q5_0 / IQ4_NL weights take 32-element blocks {float d; int8 q[32]}, Q4_1 / Q5_1
/// {float d; int32 Σq; int8 q[32]}, the K-quants and IQ4_XS 256-element blocks {float d; int16 sums[16] (per 16);
/// int8 q[256]}.
long qk_act_bytes(int type, long k);

/// Quantises `tokens` rows of `k` activations (row stride k) for weights of `type` into `out`
/// (tokens * qk_act_bytes(type, k) bytes): per block d = max|x|/127, q = round(x/d).
void qk_quantize_act(int type, const float *x, long k, long tokens, void *out);

/// y[t*ldy + o] = dot(W[o], x_t) for o in [row0, row1), t < tokens, with `w` the whole [out, k] weight in
/// `type` and `xq` the quantised activations of all tokens. Integer dot products per block (AVX-512 VNNI when
/// available), f32 combination of block scales. Each weight row block is reused for every token from L1.
void qk_qgemv(int type, const void *w, long k, const void *xq, long tokens, float *y, long ldy, long row0, long row1);

/// The quantised kernel path in use: 2 AVX-512 VNNI, 1 AVX2, 0 plain (chosen at first use from the CPU).
int qk_quant_path(void);
/// Tests: force a path (2, 1, 0; one the CPU lacks crashes), or -1 for the CPU's best.
void qk_quant_force_path(int path);

/// The plain twin of qk_qgemv (scalar integer dots, same block arithmetic), for tests.
void qk_qgemv_ref(int type, const void *w, long k, const void *xq, long tokens, float *y, long ldy, long row0, long row1);

/// C[m, n] += A[m, k] · B[k, n] (row-major, leading dimensions lda / ldb / ldc), f32: each element is
/// acc = Σ fma over y from 0, then C += acc, whatever the shape (gemm_f32.c). Returns 0 without AVX-512 or
/// AVX2 + FMA (the caller's own loop runs); qk_gemm_f32_add_ref is the plain twin (same operations, bit-identical).
int qk_gemm_f32_add(const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n);
void qk_gemm_f32_add_ref(const float *a, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n);
/// The same with A stored transposed, A[r, y] = at[y·lda + r] (same per-element sequence); 0 without AVX-512 or AVX2.
int qk_gemm_f32_add_at(const float *at, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n);
void qk_gemm_f32_add_at_ref(const float *at, long lda, const float *b, long ldb, float *c, long ldc, long m, long k, long n);

/// Tests: run the decode-attention kernels at `level` (2 AVX-512, 1 AVX2, 0 none; never above what the CPU
/// has); -1 restores the best.
void qk_attn_force_level(int level);

/// Decode attention for 4 query heads sharing one KV head over `len` f32 rows `ks`/`vs` floats apart
/// (attention.c): s[g*ldS + i] = (q_g . k_i) * scale, and o[g*d + c] += sum_i p[g*ldP + i] * v_i[c]. Return 0
/// (nothing done) without AVX-512, when d is not a multiple of 16 or when a stride is below d; the caller then
/// runs its own loop.
int qk_attn_scores4(const float *q, long d, const float *k, long ks, long len, float scale, float *s, long ldS);
int qk_attn_accumulate4(const float *p, long ldP, long d, const float *v, long vs, long len, float *o);
/// Whether the typed kernels below run for this row type (QK_F32, QK_BF16, QK_F16) and head size.
int qk_attn_typed_supported(int type, long d);
/// qk_attn_scores4 / qk_attn_accumulate4 over rows of `type` holding `heads` KV heads side by side (row i at
/// k + i*ks, head h at + h*d; strides in elements of `type`, at least heads*d), each shared by `group` query heads
/// (a multiple of 4): query head h*group + g reads q, s / p and o at row h*group + g. bf16 / f16 rows are widened in registers (exact), so the results are
/// bit-identical to widening the rows first, and to calling one head at a time. `next` (or NULL): the first row
/// of the run that follows (another page, same stride), prefetched while this run's last rows are computed; it
/// does not change the result. Return 0 when they do not run.
int qk_attn_scores_typed(int type, const float *q, long d, long heads, long group, const void *k, long ks, long len,
                         float scale, float *s, long ldS, const void *next);
int qk_attn_accumulate_typed(int type, const float *p, long ldP, long d, long heads, long group, const void *v, long vs,
                             long len, float *o, const void *next);
/// dst[i] = src[i] widened to f32 for type QK_BF16 or QK_F16 (exact; AVX-512 where the CPU has it).
void qk_widen16(int type, const void *src, float *dst, long n);

// MARK: - Repacked quantised weights (quant_x16.c)

/// 1 when weights of ggml `type` have a repacked kernel on this CPU (16 rows interleaved per block; AVX-512 VNNI).
int qk_x16_supported(int type);
/// Bytes of `rows` rows (a multiple of 16) of `k` columns in the repacked layout of `type`.
long qk_x16_bytes(int type, long rows, long k);
/// Repacks row groups [group0, group1) (rows 16·group0 ..< 16·group1) of the ggml tensor `src` ([rows, k]) into `dst`
/// (the whole packed tensor); qk_x16_unpack is the exact inverse (tests). Word moves (quant_x16_repack.c);
/// qk_x16_repack_ref is its plain twin (byte by byte through the layout maps), the same output bytes.
void qk_x16_repack(int type, const void *src, long k, void *dst, long group0, long group1);
void qk_x16_repack_ref(int type, const void *src, long k, void *dst, long group0, long group1);
void qk_x16_unpack(int type, const void *packed, long k, void *dst, long group0, long group1);
/// Activation bytes per token for the repacked kernel, and the quantiser (the same 8-bit blocks as
/// qk_quantize_act, plus per-block terms the layout needs).
long qk_x16_act_bytes(int type, long k);
void qk_x16_quantize_act(int type, const float *x, long k, long tokens, void *out);
/// y[t*ldy + o] = dot(W[o], x_t) for rows o of groups [group0, group1), every token t < tokens. Each output is
/// computed by the same operations whatever `tokens` is (batch- and chunk-invariant).
void qk_x16_gemm(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy, long group0, long group1);
/// Its plain twin: scalar code over the packed layout, the same operations per output (bit-identical).
void qk_x16_gemm_ref(int type, const void *packed, long k, const void *xq, long tokens, float *y, long ldy, long group0, long group1);

#endif
