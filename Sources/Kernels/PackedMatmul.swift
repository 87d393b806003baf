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
/// pool's hand-offs took ~40 % of the time). Integer-kernel weights, repacked (`quant_x16.c`) or in the ggml
/// blocks (`quant.c`, CPUs without VNNI), share one region split in chunks of rows; activations shared by several
/// jobs (gate and up read the same rows) are quantised once. Other weights run one by one through `matmul`.
/// Every output is computed exactly as `matmul` computes it: both kernels give a row the same bits whatever
/// row range it is computed in.
public func matmulMany(_ jobs: [MatmulJob], rowwise: Bool = false, pool: ThreadPool = .shared) {
    var shared: [(job: MatmulJob, kernel: RowKernel, act: Int)] = []
    var acts: [(x: UnsafePointer<Float>, tokens: Int, k: Int, kernel: RowKernel, offset: Int)] = []
    var actBytes = 0
    for job in jobs where job.tokens > 0 {
        guard job.w.shape.count == 2, job.w.columnSource == nil, let kernel = RowKernel(job.w) else {
            matmul(job.x, job.w, job.y, tokens: job.tokens, rowwise: rowwise, pool: pool)
            continue
        }
        let k = job.w.shape[1]
        if let i = acts.firstIndex(where: { $0.x == job.x && $0.tokens == job.tokens && $0.k == k && $0.kernel.sameActivations(kernel) }) {
            shared.append((job, kernel, i))
        } else {
            acts.append((job.x, job.tokens, k, kernel, actBytes))
            actBytes += job.tokens * kernel.actBytes(k)
            shared.append((job, kernel, acts.count - 1))
        }
    }
    if shared.isEmpty { return }
    let xq = UnsafeMutableRawPointer.allocate(byteCount: actBytes, alignment: 64)
    defer { xq.deallocate() }
    for a in acts { a.kernel.quantize(a.x, k: a.k, tokens: a.tokens, into: xq + a.offset) }
    // Chunks of 128 rows: enough items for the threads to even out, each long enough to stream.
    let chunk = 128
    var items: [(job: Int, r0: Int, r1: Int)] = []
    for (j, sj) in shared.enumerated() {
        let rows = sj.job.w.shape[0]
        for r in stride(from: 0, to: rows, by: chunk) { items.append((j, r, min(rows, r + chunk))) }
    }
    let base = UnsafeRawPointer(xq)
    shared.withUnsafeBufferPointer { sjs in
        acts.withUnsafeBufferPointer { ap in
            pool.parallelFor(items.count) { i in
                let item = items[i], sj = sjs[item.job], a = ap[sj.act]
                sj.kernel.run(sj.job, k: a.k, act: base + a.offset, rows: item.r0..<item.r1)
            }
        }
    }
}

/// The integer kernels whose rows `matmulMany` can split at any multiple of 16 rows.
enum RowKernel {
    /// The 16-row interleaved copy (`quant_x16.c`); rows come in whole groups of 16.
    case packed(PackedWeight, code: Int32)
    /// The ggml blocks as stored (`quant.c`'s `qk_qgemv`; its row blocks are 4 rows).
    case blocks(code: Int32)

    init?(_ w: WeightTensor) {
        if let p = w.packed {
            self = .packed(p, code: Int32(w.format.rawValue))
        } else if case .quantized(let code) = MatmulFormat.kernel(w.format) {
            self = .blocks(code: code)
        } else {
            return nil
        }
    }

    /// Both read the same quantised activations (same layout and format).
    func sameActivations(_ other: RowKernel) -> Bool {
        switch (self, other) {
        case (.packed(_, let a), .packed(_, let b)), (.blocks(let a), .blocks(let b)): a == b
        default: false
        }
    }

    func actBytes(_ k: Int) -> Int {
        switch self {
        case .packed(_, let code): qk_x16_act_bytes(code, k)
        case .blocks(let code): qk_act_bytes(code, k)
        }
    }

    func quantize(_ x: UnsafePointer<Float>, k: Int, tokens: Int, into out: UnsafeMutableRawPointer) {
        switch self {
        case .packed(_, let code): qk_x16_quantize_act(code, x, k, tokens, out)
        case .blocks(let code): qk_quantize_act(code, x, k, tokens, out)
        }
    }

    /// Output rows `rows` (multiples of 16 but for the last) of `job` from its quantised activations.
    func run(_ job: MatmulJob, k: Int, act: UnsafeRawPointer, rows: Range<Int>) {
        let n = job.w.shape[0]
        switch self {
        case .packed(let p, let code):
            let g = PackedWeight.groupRows
            qk_x16_gemm(code, p.data, k, act, job.tokens, job.y, n, rows.lowerBound / g, (rows.upperBound + g - 1) / g)
        case .blocks(let code):
            qk_qgemv(code, job.w.data, k, act, job.tokens, job.y, n, rows.lowerBound, rows.upperBound)
        }
    }
}
