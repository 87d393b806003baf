import TensorCore

/// y[T, out] = x[T, in] · W[out, in]ᵀ — every projection of the model goes through here, whatever the
/// weight's stored dtype. T == 1 is the decode GEMV, T > 1 the prefill GEMM.
/// PLACEHOLDER implementation: the SIMD / threaded kernels replace the body; the reference twin stays.
public func matmul(
    _ x: UnsafePointer<Float>,       // [T, in]
    _ w: WeightTensor,               // [out, in]
    _ y: UnsafeMutablePointer<Float>, // [T, out]
    tokens: Int,
    pool: ThreadPool = .shared
) {
    matmulReference(x, w, y, tokens: tokens)
}

/// Array convenience: `x` is `[tokens, in]`, the result `[tokens, out]`.
public func matmul(_ x: [Float], _ w: WeightTensor, tokens: Int, pool: ThreadPool = .shared) -> [Float] {
    precondition(w.shape.count == 2, "\(w.name): matmul needs a 2-D weight, got \(w.shape)")
    precondition(x.count == tokens * w.shape[1], "\(w.name): input \(x.count) != \(tokens)×\(w.shape[1])")
    var y = [Float](repeating: 0, count: tokens * w.shape[0])
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { yp in
            matmul(xp.baseAddress!, w, yp.baseAddress!, tokens: tokens, pool: pool)
        }
    }
    return y
}

/// Plain reference twin of `matmul`: one scalar dot product per output, f32 accumulation.
public func matmulReference(
    _ x: UnsafePointer<Float>, _ w: WeightTensor, _ y: UnsafeMutablePointer<Float>, tokens: Int
) {
    let n = w.shape[0], k = w.shape[1]
    for t in 0..<tokens {
        for o in 0..<n {
            var acc: Float = 0
            for i in 0..<k { acc += x[t * k + i] * w.scalar(o * k + i) }
            y[t * n + o] = acc
        }
    }
}
