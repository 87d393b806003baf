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

/// One product of `matmulMany`: y[T, out] = x[T, in] · Wᵀ.
public struct MatmulJob {
    public let x: UnsafePointer<Float>        // [T, in]
    public let w: WeightTensor                // [out, in]
    public let y: UnsafeMutablePointer<Float> // [T, out]
    public let tokens: Int

    public init(x: UnsafePointer<Float>, w: WeightTensor, y: UnsafeMutablePointer<Float>, tokens: Int) {
        self.x = x; self.w = w; self.y = y; self.tokens = tokens
    }
}

/// Several products in one parallel region: an MoE layer's active experts are each too small to keep the
/// threads busy between two barriers (at decode a 35B-A3B token runs ~30 expert products per layer, and the
/// pool's hand-offs took ~40 % of the time). Packed weights share one region, split in chunks of row groups;
/// activations shared by several jobs (gate and up read the same rows) are quantised once. Other weights run
/// one by one through `matmul`. Every output is computed exactly as `matmul` computes it.
public func matmulMany(_ jobs: [MatmulJob], rowwise: Bool = false, pool: ThreadPool = .shared) {
    var packedJobs: [(job: MatmulJob, packed: PackedWeight, act: Int)] = []
    var acts: [(x: UnsafePointer<Float>, tokens: Int, k: Int, code: Int32, offset: Int)] = []
    var actBytes = 0
    for job in jobs where job.tokens > 0 {
        guard let p = job.w.packed, job.w.shape.count == 2, job.w.columnSource == nil else {
            matmul(job.x, job.w, job.y, tokens: job.tokens, rowwise: rowwise, pool: pool)
            continue
        }
        let k = job.w.shape[1], code = Int32(job.w.format.rawValue)
        if let i = acts.firstIndex(where: { $0.x == job.x && $0.tokens == job.tokens && $0.k == k && $0.code == code }) {
            packedJobs.append((job, p, i))
        } else {
            acts.append((job.x, job.tokens, k, code, actBytes))
            actBytes += job.tokens * qk_x16_act_bytes(code, k)
            packedJobs.append((job, p, acts.count - 1))
        }
    }
    if packedJobs.isEmpty { return }
    let xq = UnsafeMutableRawPointer.allocate(byteCount: actBytes, alignment: 64)
    defer { xq.deallocate() }
    for a in acts { qk_x16_quantize_act(a.code, a.x, a.k, a.tokens, xq + a.offset) }
    // Chunks of 8 groups (128 rows): enough items for the threads to even out, each long enough to stream.
    let chunk = 8
    var items: [(job: Int, g0: Int, g1: Int)] = []
    for (j, pj) in packedJobs.enumerated() {
        let groups = pj.job.w.shape[0] / PackedWeight.groupRows
        for g in stride(from: 0, to: groups, by: chunk) { items.append((j, g, min(groups, g + chunk))) }
    }
    let base = UnsafeRawPointer(xq)
    packedJobs.withUnsafeBufferPointer { pjs in
        acts.withUnsafeBufferPointer { ap in
            pool.parallelFor(items.count) { i in
                let item = items[i], pj = pjs[item.job], a = ap[pj.act]
                qk_x16_gemm(a.code, pj.packed.data, a.k, base + a.offset, a.tokens, pj.job.y, pj.job.w.shape[0],
                            item.g0, item.g1)
            }
        }
    }
}
