import Foundation
import XCTest
import TensorCore
@testable import GGUF

/// The quantisers `qwenkit quantize` uses: byte for byte against llama.cpp's reference quantisers
/// (`Tests/Fixtures/gguf/kquant_refs.gguf`, made by `make_kquant_refs.py` with libggml), and quantise →
/// dequantise within each format's error bound on other data.
final class QuantizeTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gguf/kquant_refs.gguf")
    static let formats: [WeightFormat] = [.q4_0, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    func testBlocksMatchLlamaCpp() throws {
        let f = try GGUFFile(path: Self.fixture.path)
        let src = try XCTUnwrap(f.tensor("src")).toFloats()
        for format in Self.formats {
            let t = try XCTUnwrap(f.tensors.first { $0.name == format.description }, "\(format) in the fixture")
            let ref = f.weightTensor(t)
            XCTAssertEqual(ref.format, format)
            let expected = Array(UnsafeRawBufferPointer(start: ref.data, count: ref.byteCount))
            let got = quantize(src, to: format)
            XCTAssertEqual(got.count, expected.count, "\(format)")
            // Blocks that differ (a tie rounded the other way under a fused multiply-add in llama.cpp's build)
            // would show here; none do on this data.
            let bb = format.blockBytes
            for b in 0..<(got.count / bb) where got[(b * bb)..<((b + 1) * bb)] != expected[(b * bb)..<((b + 1) * bb)] {
                XCTFail("\(format) block \(b) differs from llama.cpp's")
            }
        }
    }

    /// Quantise → our dequantiser: every value within the format's step of its input. The bound per group is
    /// one quantisation step of that group (half a step of rounding, plus the error of the 6-bit / f16 scales).
    func testRoundTripErrorBounds() {
        var rng = SystemRandomNumberGenerator.seeded(5)
        for format in Self.formats {
            var x = (0..<2048).map { _ in Float(rng.gaussian()) * 0.05 }
            for i in 512..<544 { x[i] = 0 }                         // an all-zero group
            x[1000] = 2                                             // an outlier
            let q = quantize(x, to: format)
            var y = [Float](repeating: 0, count: x.count)
            q.withUnsafeBytes { dequantize(format, $0.baseAddress!, &y, count: x.count) }
            XCTAssertEqual(Array(y[512..<544]), [Float](repeating: 0, count: 32), "\(format): zero group stays zero")
            let group = format == .q6_K ? 16 : 32, blockElements = format.blockElements
            for g in 0..<(x.count / group) {
                let r = (g * group)..<((g + 1) * group)
                let b = (g * group / blockElements * blockElements)..<((g * group / blockElements + 1) * blockElements)
                let amax = x[r].map(abs).max()!, blockAmax = x[b].map(abs).max()!
                let lo = x[r].min()!, hi = x[r].max()!
                // One step of the group's grid (rounding is half a step; the other half covers the clamp at the
                // grid's end and the f16 scale). K-quants store each group's scale and min in 6 bits relative to
                // the block's largest (scale ≤ block range / levels): each is off by ≤ 1/126 of that, so the grid
                // end (levels · scale) moves by ≤ block range / 126 for each, 2·blockAmax/63 together. Q6_K: 8-bit
                // scales, ≤ 32 · (blockAmax / 32) / 256.
                let bound: Float = switch format {
                case .q8_0: amax / 127
                case .q4_0: amax / 8
                case .q5_0: amax / 16
                case .q5_1: (hi - lo) / 31
                case .q4_K: (max(0, hi) - min(0, lo)) / 15 + 2 * blockAmax / 63
                case .q5_K: (max(0, hi) - min(0, lo)) / 31 + 2 * blockAmax / 63
                default: amax / 32 + blockAmax / 256  // q6_K
                }
                for i in r {
                    XCTAssertLessThanOrEqual(abs(y[i] - x[i]), bound * 1.001, "\(format) [\(i)] \(x[i]) → \(y[i])")
                }
            }
            let levels: Float = switch format {
            case .q4_0, .q4_K: 15
            case .q5_0, .q5_1, .q5_K: 31
            case .q6_K: 63
            default: 255   // q8_0
            }
            // And the error is what the format is known for: RMS well under a step of the whole range.
            let rms = (zip(x, y).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Float(x.count)).squareRoot()
            XCTAssertLessThan(rms, 0.05 * 4 / levels, "\(format) RMS error \(rms)")
        }
    }

    func testPlainFormatsAndUnsupported() {
        let x: [Float] = [1, -2.5, 3.14159, 65504, 1e-8, 0]
        let h = quantize(x, to: .f16)
        var y = [Float](repeating: 0, count: x.count)
        h.withUnsafeBytes { dequantize(.f16, $0.baseAddress!, &y, count: x.count) }
        XCTAssertEqual(y, x.map { Float(Float16($0)) })
        XCTAssertEqual(quantize(x, to: .f32).count, 24)
    }
}

extension SystemRandomNumberGenerator {
    /// A seeded generator for tests (SplitMix64), with Box–Muller normals.
    static func seeded(_ seed: UInt64) -> SplitMix { SplitMix(state: seed) }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func gaussian() -> Double {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &self), v = Double.random(in: 0..<1, using: &self)
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * .pi * v)
    }
}
