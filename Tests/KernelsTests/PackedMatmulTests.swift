import XCTest
import CKernels
import TensorCore
@testable import Kernels

/// The 16-row interleaved ("x16") kernels of quant_x16.c: the layout is lossless (repack then unpack gives the
/// ggml bytes back), the VNNI kernel equals its plain twin over the packed layout bit for bit, each token's
/// result does not depend on how many tokens share the call, and the whole packed matmul agrees with the
/// ggml-layout kernels' plain twin (same integer dots; only the f32 order of the block sums differs) where the
/// format has one, and with f32 math on the dequantised rows (within the 8-bit activation rounding) for all.
final class PackedMatmulTests: XCTestCase {
    typealias Rng = QuantMatmulTests.Rng

    static let formats: [WeightFormat] = [.q8_0, .q4_K, .q5_K, .q6_K, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_nl, .iq4_xs, .q3_K, .q2_K]

    func testRepackThenUnpackGivesTheBlocksBack() {
        for format in Self.formats {
            let code = Int32(format.rawValue), rows = 48, k = 512
            let w = QuantMatmulTests.randomWeight(format, rows: rows, k: k, seed: 3, hugeScale: true)
            let packed = UnsafeMutableRawPointer.allocate(byteCount: qk_x16_bytes(code, rows, k), alignment: 64)
            defer { packed.deallocate() }
            qk_x16_repack(code, w.data, k, packed, 0, rows / 16)
            var back = [UInt8](repeating: 0, count: w.byteCount)
            back.withUnsafeMutableBytes { qk_x16_unpack(code, packed, k, $0.baseAddress!, 0, rows / 16) }
            XCTAssertEqual(back, Array(UnsafeRawBufferPointer(start: w.data, count: w.byteCount)), "\(format)")
            XCTAssertEqual(qk_x16_bytes(code, rows, k), w.byteCount, "\(format): the packed copy is the same size")
        }
    }

    /// The fast repack (word moves, quant_x16_repack.c) writes the bytes of its plain twin (byte by byte through
    /// the layout maps) for every format, over random bytes (every bit pattern of scales, nibbles and fifth bits)
    /// and for a range of groups that does not start at 0 (a thread's share of the rows).
    func testFastRepackEqualsPlainTwin() {
        for format in Self.formats {
            let code = Int32(format.rawValue)
            for (rows, k, g0, g1) in [(16, 256, 0, 1), (64, 768, 1, 3), (48, 2048, 0, 3)] {
                let rowBytes = format.rowBytes(k)!
                var rng = Rng(state: UInt64(rows * k + Int(code)))
                let src = (0..<(rows * rowBytes)).map { _ in rng.byte() }   // [rows, rowBytes]
                let n = qk_x16_bytes(code, rows, k)
                var fast = [UInt8](repeating: 0xA5, count: n), twin = [UInt8](repeating: 0xA5, count: n)
                fast.withUnsafeMutableBytes { qk_x16_repack(code, src, k, $0.baseAddress!, g0, g1) }
                twin.withUnsafeMutableBytes { qk_x16_repack_ref(code, src, k, $0.baseAddress!, g0, g1) }
                XCTAssertEqual(fast, twin, "\(format) \(rows)×\(k) groups \(g0)..<\(g1): fast repack differs from its twin")
                XCTAssertNotEqual(fast, [UInt8](repeating: 0xA5, count: n), "\(format): nothing written")
            }
        }
    }

    /// y for `tokens` tokens through the kernel (`plain`: its twin) on a packed copy of `w`.
    func run(_ w: WeightTensor, _ x: [Float], tokens: Int, plain: Bool) -> [Float] {
        let code = Int32(w.format.rawValue), rows = w.shape[0], k = w.shape[1]
        let packed = UnsafeMutableRawPointer.allocate(byteCount: qk_x16_bytes(code, rows, k), alignment: 64)
        defer { packed.deallocate() }
        qk_x16_repack(code, w.data, k, packed, 0, rows / 16)
        var xq = [UInt8](repeating: 0, count: tokens * qk_x16_act_bytes(code, k))
        xq.withUnsafeMutableBytes { qk_x16_quantize_act(code, x, k, tokens, $0.baseAddress!) }
        var y = [Float](repeating: .nan, count: tokens * rows)
        xq.withUnsafeBytes { q in
            if plain { qk_x16_gemm_ref(code, packed, k, q.baseAddress!, tokens, &y, rows, 0, rows / 16) }
            else { qk_x16_gemm(code, packed, k, q.baseAddress!, tokens, &y, rows, 0, rows / 16) }
        }
        return y
    }

    func testKernelEqualsPlainTwinAndIsTokenCountInvariant() throws {
        try XCTSkipIf(Self.formats.allSatisfy { qk_x16_supported(Int32($0.rawValue)) == 0 },
                      "no repacked kernel on this CPU (needs AVX-512 VNNI): nothing to pin against the twin")
        for format in Self.formats where qk_x16_supported(Int32(format.rawValue)) != 0 {
            for (rows, k, tokens) in [(16, 256, 1), (32, 1024, 13), (48, 512, 8)] {
                let w = QuantMatmulTests.randomWeight(format, rows: rows, k: k, seed: UInt64(rows + k), hugeScale: true)
                var rng = Rng(state: 11)
                let x = (0..<(tokens * k)).map { _ in rng.unit() }
                let fast = run(w, x, tokens: tokens, plain: false), twin = run(w, x, tokens: tokens, plain: true)
                XCTAssertEqual(fast, twin, "\(format) \(rows)×\(k) T=\(tokens): kernel and twin differ")
                for t in [0, tokens - 1] {
                    let alone = run(w, Array(x[(t * k)..<((t + 1) * k)]), tokens: 1, plain: false)
                    XCTAssertEqual(alone, Array(fast[(t * rows)..<((t + 1) * rows)]), "\(format) token \(t) alone vs in \(tokens)")
                }
            }
        }
    }

    func testPackedMatmulAgreesWithGGMLLayoutTwin() {
        for format in Self.formats {
            guard case .quantized = MatmulFormat.kernel(format) else { continue }   // Q4_1, Q5_x, IQ4_NL: none
            let code = Int32(format.rawValue), rows = 64, k = 768, tokens = 5
            let w = QuantMatmulTests.randomWeight(format, rows: rows, k: k, seed: 9)
            var rng = Rng(state: 5)
            let x = (0..<(tokens * k)).map { _ in rng.unit() }
            var xq = [UInt8](repeating: 0, count: tokens * qk_act_bytes(code, k))
            xq.withUnsafeMutableBytes { qk_quantize_act(code, x, k, tokens, $0.baseAddress!) }
            var expected = [Float](repeating: 0, count: tokens * rows)
            xq.withUnsafeBytes { qk_qgemv_ref(code, w.data, k, $0.baseAddress!, tokens, &expected, rows, 0, rows) }
            let p = packedForMatmul(w)
            if qk_x16_supported(code) != 0 { XCTAssertNotNil(p.packed, "\(format): supported but not packed") }
            let y = matmul(x, p, tokens: tokens)
            for i in y.indices {
                XCTAssertEqual(y[i], expected[i], accuracy: 1e-5 * max(1, abs(expected[i])), "\(format) [\(i)]")
            }
            // A slice of whole groups (one "expert") keeps the packed copy and gives the same rows.
            let rows2 = p.slice(row: 16, count: 32, dropLeading: false)
            if p.packed != nil { XCTAssertNotNil(rows2.packed, "\(format): a slice of whole groups lost the packed copy") }
            let y2 = matmul(x, rows2, tokens: tokens)
            for t in 0..<tokens { XCTAssertEqual(Array(y2[(t * 32)..<((t + 1) * 32)]), Array(y[(t * rows + 16)..<(t * rows + 48)])) }
        }
    }

    /// The 256-column formats, ggml-layout twin or not (IQ4_XS, Q3_K, Q2_K have none): every output against the
    /// f64 sum of the dequantised weights (`dequantizeRow`, pinned to gguf-py) times the 8-bit activations the
    /// kernel read (act_q8_k blocks: f32 d at byte 0, int8 q[256] at byte 36 of 292). Only f32 rounding separates
    /// them, so a wrong bit plane, scale, min or offset cannot hide inside an activation-rounding bound.
    func testPackedMatmulMatchesDequantisedWeightsOnQuantisedActivations() {
        for format in Self.formats where format.blockElements == 256 {
            let code = Int32(format.rawValue), rows = 32, k = 768, tokens = 3, nb = k / 256
            let w = QuantMatmulTests.randomWeight(format, rows: rows, k: k, seed: 17)
            let p = packedForMatmul(w)
            guard p.packed != nil else { continue }   // no repacked kernel on this CPU
            var rng = Rng(state: 6)
            let x = (0..<(tokens * k)).map { _ in rng.unit() }   // [tokens, k]
            let y = matmul(x, p, tokens: tokens)                 // [tokens, rows]
            var xq = [UInt8](repeating: 0, count: tokens * qk_x16_act_bytes(code, k))
            XCTAssertEqual(xq.count, tokens * nb * 292, "\(format): activations are not act_q8_k blocks")
            xq.withUnsafeMutableBytes { qk_x16_quantize_act(code, x, k, tokens, $0.baseAddress!) }
            var row = [Float](repeating: 0, count: k)            // [k]
            for o in 0..<rows {
                row.withUnsafeMutableBufferPointer { w.dequantizeRow(o, into: $0.baseAddress!) }
                for t in 0..<tokens {
                    var sum = 0.0, magnitude = 0.0
                    for b in 0..<nb {
                        let base = (t * nb + b) * 292
                        let d = Double(xq.withUnsafeBytes { $0.load(fromByteOffset: base, as: Float.self) })
                        for i in 0..<256 {
                            let v = Double(row[256 * b + i]) * d * Double(Int8(bitPattern: xq[base + 36 + i]))
                            sum += v
                            magnitude += abs(v)
                        }
                    }
                    XCTAssertEqual(Double(y[t * rows + o]), sum, accuracy: 1e-5 * magnitude + 1e-9, "\(format) token \(t) row \(o)")
                }
            }
        }
    }

    /// Every format, twin or not: `matmul` on the packed copy (tiles of 8 and a tail) against f32 math on the
    /// dequantised rows (`dequantizeRow`, pinned to gguf-py). A wrong nibble order, fifth bit, table entry,
    /// offset or min term moves outputs far past the bound.
    func testPackedMatmulMatchesDequantisedF32() {
        for format in Self.formats {
            let rows = 32, k = 512
            let w = QuantMatmulTests.randomWeight(format, rows: rows, k: k, seed: 21)
            let p = packedForMatmul(w)
            if qk_x16_supported(Int32(format.rawValue)) != 0 { XCTAssertNotNil(p.packed, "\(format): supported but not packed") }
            var wf = [Float](repeating: 0, count: rows * k)   // [rows, k]
            wf.withUnsafeMutableBufferPointer { b in for o in 0..<rows { w.dequantizeRow(o, into: b.baseAddress! + o * k) } }
            let dense = WeightTensor.f32(wf, shape: [rows, k])
            for tokens in [1, 11] {
                var rng = Rng(state: 4)
                let x = (0..<(tokens * k)).map { _ in rng.unit() }   // [tokens, k]
                let got = matmul(x, p, tokens: tokens)               // [tokens, rows]
                var ref = [Float](repeating: 0, count: tokens * rows)
                x.withUnsafeBufferPointer { matmulReference($0.baseAddress!, dense, &ref, tokens: tokens) }
                for t in 0..<tokens {
                    for o in 0..<rows {
                        // 8-bit activations: error ≤ Σ|w|·(max|x| of its block)/254 ≤ Σ|w|/254 here (|x| ≤ 1).
                        let bound = (0..<k).reduce(Float(0)) { $0 + abs(wf[o * k + $1]) } / 254 * 1.01 + 1e-3
                        XCTAssertEqual(got[t * rows + o], ref[t * rows + o], accuracy: bound, "\(format) T=\(tokens) row \(o)")
                    }
                }
            }
        }
    }
}
