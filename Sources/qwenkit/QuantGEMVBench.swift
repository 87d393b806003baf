import Foundation
import Kernels
import TensorCore

/// Decode GEMV (one token) on quantised weights in the repacked layout the GGUF loader uses, at bench-0.8b's
/// geometry: GB/s of weight bytes streamed, to set against the DRAM probe of the same run (the decode ceiling).
/// One matrix is quantised (random values) and its blocks copied until the copies exceed the 32 MiB L3 many
/// times over, so every call streams from DRAM as in a real decode step.
struct QuantGEMVBench {
    let pool: ThreadPool

    /// (GB/s, ms per call, whether the weight was repacked: without VNNI it stays in the ggml layout) for a
    /// `[out, in]` weight in `format`.
    func run(format: WeightFormat, out: Int, in k: Int) -> (Double, Double, Bool) {
        let tileRows = 256   // rows quantised once, then repeated down the matrix
        precondition(out % tileRows == 0, "QuantGEMVBench: \(out) rows are not whole tiles of \(tileRows)")
        var seed: UInt64 = 0x5EED
        let values = (0..<(tileRows * k)).map { _ -> Float in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(seed >> 40) - (1 << 23)) / Float(1 << 23) * 0.05
        }
        let tile = quantize(values, to: format)
        let bytes = out / tileRows * tile.count
        let copies = max(1, (512 << 20) / bytes)
        let weights: [WeightTensor] = (0..<copies).map { c in
            let buffer = OwnedBuffer(byteCount: bytes)
            tile.withUnsafeBytes { t in
                for r in 0..<(out / tileRows) { (buffer.pointer + r * tile.count).copyMemory(from: t.baseAddress!, byteCount: t.count) }
            }
            let w = WeightTensor(name: "w\(c)", format: format, shape: [out, k], data: UnsafeRawPointer(buffer.pointer), owner: buffer)
            return packedForMatmul(w, pool: pool)
        }
        let x = (0..<k).map { Float($0 % 7) * 0.1 - 0.3 }  // [1, in]
        var y = [Float](repeating: 0, count: out)           // [1, out]
        var best = Double.infinity
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            for w in weights { matmul(xp.baseAddress!, w, yp.baseAddress!, tokens: 1, pool: pool) } // page in
            for _ in 0..<max(3, (2 << 30) / (bytes * copies)) {
                let t0 = benchNow()
                for w in weights { matmul(xp.baseAddress!, w, yp.baseAddress!, tokens: 1, pool: pool) }
                best = min(best, (benchNow() - t0) / Double(copies))
            }
        } }
        sink(y[0])
        return (Double(bytes) / best / 1e9, best * 1e3, weights[0].packed != nil)
    }
}
