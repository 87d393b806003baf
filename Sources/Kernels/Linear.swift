import CKernels
import TensorCore

/// y[T, out] = x[T, in] · W[out, in]ᵀ — every projection of the model goes through here, whatever the
/// weight's stored dtype. Weights are read in place and widened to f32; activations and accumulation stay f32
/// (no bf16 rounding of activations: logits must match f32 references within 1e-4).
///
/// `rowwise` forces the GEMV kernel whatever the token count: each output is then one dot product whose
/// summation order does not depend on how many rows share the call or where a row sits in it, so a sequence's
/// results are bit-identical alone or batched (the batched forward asks for it, and so does a prompt forward of
/// more than 64 tokens: `Segments.rowwise`). It walks tokens in blocks of 64, so a wide forward costs about what
/// 64-token forwards do (bench-0.8b bf16 prefill 512 on Zen 3: 512-token forwards 70-75 tok/s, 64-token 62-68).
///
/// Otherwise `tokens <= 64` runs the GEMV kernel (decode is bandwidth bound: output rows split across the pool), larger
/// `tokens` the prefill GEMM (compute bound: 32-column panels widened once into an L1-resident packed buffer and
/// reused by every 8-token micro-tile; panels split across the pool). Both live in `CKernels/matmul.c`.
public func matmul(
    _ x: UnsafePointer<Float>,       // [T, in]
    _ w: WeightTensor,               // [out, in]
    _ y: UnsafeMutablePointer<Float>, // [T, out]
    tokens: Int,
    rowwise: Bool = false,
    pool: ThreadPool = .shared
) {
    precondition(w.shape.count == 2, "\(w.name): matmul needs a 2-D weight, got \(w.shape)")
    precondition(tokens >= 0, "\(w.name): negative token count \(tokens)")
    let n = w.shape[0], k = w.shape[1]
    if tokens == 0 || n == 0 { return }
    if let source = w.columnSource {
        // x in the weight's stored column order, then the plain product (see WeightTensor.columnSource).
        let xs = gatherColumns(x, source, tokens: tokens)   // [T, in], stored order
        defer { xs.deallocate() }
        matmul(xs, w.inStoredColumnOrder, y, tokens: tokens, rowwise: rowwise, pool: pool)
        return
    }
    if let p = w.packed, w.shape.count == 2 {
        // One kernel whatever the token count: already row-invariant (quant_x16.c).
        packedMatmul(x, w, p, y, tokens: tokens, pool: pool)
        return
    }
    let code: Int32
    switch MatmulFormat.kernel(w.format) {
    case .plain(let c): code = c
    case .quantized(let c):
        quantizedMatmul(x, w, y, tokens: tokens, code: c, pool: pool)
        return
    case nil:
        preconditionFailure("\(w.name): matmul has no kernel for format \(w.format)")
    }
    let data = w.data
    if tokens <= MatmulFormat.gemvMaxTokens || rowwise {
        // Rows per work item: a multiple of 4 (the kernel's row block); a few items per thread so the
        // dynamic hand-out can even out a descheduled thread, but each big enough to stream (≥ ~64 KiB).
        let bytes = n * w.rowBytes
        let items = bytes * ((tokens + 3) / 4) < 256 * 1024 ? 1 : min(pool.threadCount * 4, max(1, n / 16))
        let rowsPerItem = ((n + items - 1) / items + 3) / 4 * 4
        let itemCount = (n + rowsPerItem - 1) / rowsPerItem
        pool.parallelFor(itemCount) { item in
            let r0 = item * rowsPerItem, r1 = min(n, r0 + rowsPerItem)
            qk_gemv(code, data, k, x, tokens, y, n, r0, r1)
        }
    } else {
        let nr = Int(QK_GEMM_NR)
        let panels = (n + nr - 1) / nr
        let flops = 2 * tokens * n * k
        let items = flops < 4_000_000 ? 1 : min(panels, pool.threadCount * 4)
        let panelsPerItem = (panels + items - 1) / items
        let itemCount = (panels + panelsPerItem - 1) / panelsPerItem
        pool.parallelFor(itemCount) { item in
            let c0 = item * panelsPerItem * nr, c1 = min(n, c0 + panelsPerItem * nr)
            qk_gemm(code, data, k, x, tokens, y, n, c0, c1)
        }
    }
}

/// Array convenience: `x` is `[tokens, in]`, the result `[tokens, out]`.
public func matmul(_ x: [Float], _ w: WeightTensor, tokens: Int, rowwise: Bool = false, pool: ThreadPool = .shared) -> [Float] {
    precondition(w.shape.count == 2, "\(w.name): matmul needs a 2-D weight, got \(w.shape)")
    precondition(x.count == tokens * w.shape[1], "\(w.name): input \(x.count) != \(tokens)×\(w.shape[1])")
    // Every output is written by the kernel, so the buffer is not zeroed first (a memset of megabytes per
    // projection at prefill sizes).
    let count = tokens * w.shape[0]
    return [Float](unsafeUninitializedCapacity: count) { yp, initialized in
        x.withUnsafeBufferPointer { xp in
            matmul(xp.baseAddress!, w, yp.baseAddress!, tokens: tokens, rowwise: rowwise, pool: pool)
        }
        initialized = count
    }
}

/// xs[t, j] = x[t, source[j]]: an input in the checkpoint's column order put into a weight's stored order.
func gatherColumns(_ x: UnsafePointer<Float>, _ source: [Int32], tokens: Int) -> UnsafeMutablePointer<Float> {
    let k = source.count
    let xs = UnsafeMutablePointer<Float>.allocate(capacity: tokens * k)   // [T, in]
    source.withUnsafeBufferPointer { src in
        for t in 0..<tokens {
            for j in 0..<k { xs[t * k + j] = x[t * k + Int(src[j])] }
        }
    }
    return xs
}

/// Plain reference twin of `matmul`: one scalar dot product per output, f32 accumulation.
public func matmulReference(
    _ x: UnsafePointer<Float>, _ w: WeightTensor, _ y: UnsafeMutablePointer<Float>, tokens: Int
) {
    if let source = w.columnSource {
        let xs = gatherColumns(x, source, tokens: tokens)
        defer { xs.deallocate() }
        matmulReference(xs, w.inStoredColumnOrder, y, tokens: tokens)
        return
    }
    let n = w.shape[0], k = w.shape[1]
    for t in 0..<tokens {
        for o in 0..<n {
            var acc: Float = 0
            for i in 0..<k { acc += x[t * k + i] * w.scalar(o * k + i) }
            y[t * n + o] = acc
        }
    }
}

/// How `DType`s map onto the C kernels' weight formats. A block-quantized dtype adds a case here and a
/// branch in `matmul.c`; model code is untouched.
enum MatmulFormat {
    /// Up to this many tokens the row-blocked GEMV loop (each 4-row weight block widened straight from the
    /// checkpoint and reused by 4-token groups from L1) beats the packed GEMM, whose transposing pack costs
    /// too much for few tokens. Measured with `qwenkit bench --kernels` (bf16 3584×1024, 2 threads): T=64
    /// 440 vs 337 GFLOP/s; at T=512 the packed GEMM wins (466 GFLOP/s). The model's forwards always take the
    /// GEMV (batches and wide prompt forwards are row-wise); the GEMM serves callers that ask for it.
    static let gemvMaxTokens = 64

    enum Kernel {
        /// The f32-accumulating GEMV/GEMM of matmul.c (weights widened in registers).
        case plain(Int32)
        /// Integer-dot kernels of quant.c on 8-bit quantised activations.
        case quantized(Int32)
    }

    /// Every format is listed: a new one fails to compile until it picks a kernel.
    static func kernel(_ format: WeightFormat) -> Kernel? {
        switch format {
        case .f32: .plain(Int32(QK_F32))
        case .f16: .plain(Int32(QK_F16))
        case .bf16: .plain(Int32(QK_BF16))
        case .q8_0: .quantized(Int32(QK_Q8_0))
        case .q4_K: .quantized(Int32(QK_Q4_K))
        case .q6_K: .quantized(Int32(QK_Q6_K))
        case .q4_0: .quantized(Int32(QK_Q4_0))
        case .q5_K: .quantized(Int32(QK_Q5_K))
        case .iq4_xs: .quantized(Int32(QK_IQ4_XS))
        case .q3_K: .quantized(Int32(QK_Q3_K))
        case .q2_K: .quantized(Int32(QK_Q2_K))
        case .q4_1: .quantized(Int32(QK_Q4_1))
        case .q5_0: .quantized(Int32(QK_Q5_0))
        case .q5_1: .quantized(Int32(QK_Q5_1))
        case .iq4_nl: .quantized(Int32(QK_IQ4_NL))
        case .i64: nil
        }
    }
}

// MARK: - Quantised weights

/// Activations quantised once per call (per token, per weight block), then threads over 4-row blocks of the
/// integer-dot kernel; every token reuses each row block from L1 (the prefill "GEMM" is the same loop).
func quantizedMatmul(_ x: UnsafePointer<Float>, _ w: WeightTensor, _ y: UnsafeMutablePointer<Float>,
                     tokens: Int, code: Int32, pool: ThreadPool) {
    let n = w.shape[0], k = w.shape[1]
    let actBytes = qk_act_bytes(code, k)
    let xq = UnsafeMutableRawPointer.allocate(byteCount: tokens * actBytes, alignment: 64)
    defer { xq.deallocate() }
    qk_quantize_act(code, x, k, tokens, xq)
    let bytes = n * w.rowBytes * ((tokens + 3) / 4)
    let items = bytes < 256 * 1024 ? 1 : min(pool.threadCount * 4, max(1, n / 16))
    let rowsPerItem = ((n + items - 1) / items + 3) / 4 * 4
    let itemCount = (n + rowsPerItem - 1) / rowsPerItem
    let data = w.data, act = UnsafeRawPointer(xq)
    pool.parallelFor(itemCount) { item in
        let r0 = item * rowsPerItem, r1 = min(n, r0 + rowsPerItem)
        qk_qgemv(code, data, k, act, tokens, y, n, r0, r1)
    }
}

/// Process-wide allocator tuning for inference (glibc): large arrays stay in the heap and are reused.
public func keepLargeAllocationsInHeap() { qk_keep_large_allocations() }
