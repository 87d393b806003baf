import CKernels
import Foundation
import TensorCore

/// `w` with a repacked copy for the 16-row interleaved integer kernels (`CKernels/quant_x16.c`) when this CPU
/// has a kernel for its format and its rows come in whole groups of 16; otherwise `w` unchanged. The copy is
/// as large as the ggml blocks it repacks; the caller releases the mapped original if nothing else reads it.
/// `QWENKIT_NO_REPACK=1` turns repacking off (A/B benchmarks against the ggml-layout kernels).
public func packedForMatmul(_ w: WeightTensor, pool: ThreadPool = .shared) -> WeightTensor {
    guard w.packed == nil, w.format.isQuantized, w.shape.count >= 2, repackingEnabled,
          qk_x16_supported(Int32(w.format.rawValue)) != 0 else { return w }
    let rows = w.rowCount, k = w.shape[w.shape.count - 1], code = Int32(w.format.rawValue)
    let g = PackedWeight.groupRows
    guard rows % g == 0 else { return w }
    let groups = rows / g
    let groupBytes = qk_x16_bytes(code, g, k)
    let buffer = OwnedBuffer(byteCount: groups * groupBytes)
    let src = w.data, dst = buffer.pointer
    let items = min(groups, pool.threadCount * 4)
    let per = (groups + items - 1) / items
    pool.parallelFor((groups + per - 1) / per) { item in
        qk_x16_repack(code, src, k, dst, item * per, min(groups, (item + 1) * per))
    }
    return w.withPacked(PackedWeight(data: UnsafeRawPointer(dst), groupBytes: groupBytes, owner: buffer))
}

private let repackingEnabled = ProcessInfo.processInfo.environment["QWENKIT_NO_REPACK"] != "1"

/// y[T, out] = x[T, in] · Wᵀ on the packed copy: activations quantised once (per token, per block), then
/// threads over groups of 16 rows; every token reuses each group's blocks from L1/L2.
func packedMatmul(_ x: UnsafePointer<Float>, _ w: WeightTensor, _ packed: PackedWeight, _ y: UnsafeMutablePointer<Float>,
                  tokens: Int, pool: ThreadPool) {
    let n = w.shape[0], k = w.shape[1], code = Int32(w.format.rawValue)
    let actBytes = qk_x16_act_bytes(code, k)
    let xq = UnsafeMutableRawPointer.allocate(byteCount: tokens * actBytes, alignment: 64)
    defer { xq.deallocate() }
    qk_x16_quantize_act(code, x, k, tokens, xq)
    let groups = n / PackedWeight.groupRows
    let bytes = groups * packed.groupBytes * ((tokens + 7) / 8)
    let items = bytes < 256 * 1024 ? 1 : min(pool.threadCount * 4, groups)
    let per = (groups + items - 1) / items
    let data = packed.data, act = UnsafeRawPointer(xq)
    pool.parallelFor((groups + per - 1) / per) { item in
        qk_x16_gemm(code, data, k, act, tokens, y, n, item * per, min(groups, (item + 1) * per))
    }
}
