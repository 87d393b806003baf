import XCTest
import CKernels
import TensorCore
@testable import Kernels

/// `matmulMany` (an MoE layer's expert products in one parallel region) gives every job the bits `matmul` gives
/// it alone: ggml-layout integer kernels (rows split in 128-row chunks across jobs), repacked copies where this
/// CPU repacks, jobs sharing one input (quantised once) or not, and float weights (run one by one).
final class MatmulManyTests: XCTestCase {
    func testEachJobEqualsItsOwnMatmul() throws {
        let pool = ThreadPool(threads: 3)
        typealias Rng = QuantMatmulTests.Rng
        // (format, rows, k, input): inputs 0 and 1 are each shared by several jobs.
        let specs: [(WeightFormat, Int, Int, Int)] = [(.q4_K, 200, 512, 0), (.q4_K, 336, 512, 0), (.q6_K, 96, 512, 0),
                                                      (.q8_0, 130, 512, 0), (.q5_0, 64, 256, 1), (.q4_K, 256, 256, 1),
                                                      (.iq4_xs, 48, 512, 0)]
        for tokens in [1, 3, 21] {
            var rng = Rng(state: UInt64(tokens))
            let inputs = [512, 256].map { k in (0..<(tokens * k)).map { _ in rng.unit() } }
            var weights = specs.enumerated().map { i, s in
                QuantMatmulTests.randomWeight(s.0, rows: s.1, k: s.2, seed: UInt64(31 + i))
            }
            weights.append(packedForMatmul(weights[1], pool: pool))   // the same rows repacked (VNNI CPUs)
            weights.append(.f32((0..<(40 * 512)).map { _ in rng.unit() }, shape: [40, 512]))
            let inputOf = specs.map(\.3) + [0, 0]
            // The quantised jobs share the region (a RowKernel each); the float one runs through matmul.
            XCTAssertEqual(weights.map { RowKernel($0) != nil }, specs.map { _ in true } + [true, false])
            func copy(_ a: [Float]) -> UnsafeMutablePointer<Float> {
                let p = UnsafeMutablePointer<Float>.allocate(capacity: a.count)
                p.initialize(from: a, count: a.count)
                return p
            }
            let xs = inputs.map(copy)
            let ys = weights.map { w in copy([Float](repeating: .nan, count: tokens * w.shape[0])) }
            defer { (xs + ys).forEach { $0.deallocate() } }
            matmulMany(weights.indices.map { MatmulJob(x: xs[inputOf[$0]], w: weights[$0], y: ys[$0], tokens: tokens) },
                       pool: pool)
            let outputs = weights.indices.map { Array(UnsafeBufferPointer(start: ys[$0], count: tokens * weights[$0].shape[0])) }
            for (i, w) in weights.enumerated() {
                let alone = matmul(inputs[inputOf[i]], w, tokens: tokens, pool: pool)
                XCTAssertEqual(outputs[i].map(\.bitPattern), alone.map(\.bitPattern),
                               "job \(i) \(w.format) \(w.shape) packed=\(w.packed != nil) T=\(tokens)")
            }
        }
    }
}
