import Foundation
import XCTest
@testable import Kernels

/// RoPE angles up to and past the released models' limit (262,144) against a Double reference, and the
/// linear / YaRN frequency rules against the formulas of transformers' `modeling_rope_utils.py`.
final class RoPETests: XCTestCase {
    /// The plain twin: ω_i = θ^(−2i/R), angle p·ω_i, all in Double.
    static func referenceAngle(position p: Int, pair i: Int, rotaryDim r: Int, theta: Double) -> Double {
        Double(p) * Foundation.pow(theta, -Double(2 * i) / Double(r))
    }

    static let largePositions = [0, 1, 4_095, 65_535, 131_071, 262_143, 262_144, 1_048_575]

    func testAnglesExactAtLargePositions() {
        let r = 64, theta = 1e7
        let rope = RotaryEmbedding(headDim: 256, rotaryDim: r, theta: theta)
        var cosv = [Float](repeating: 0, count: r / 2), sinv = cosv   // [R/2] each
        var worst: Double = 0, worstF32Angle: Double = 0
        for p in Self.largePositions {
            rope.angles(at: p, cos: &cosv, sin: &sinv)
            for i in 0..<(r / 2) {
                let a = Self.referenceAngle(position: p, pair: i, rotaryDim: r, theta: theta)
                worst = max(worst, abs(Double(cosv[i]) - cos(a)), abs(Double(sinv[i]) - sin(a)))
                // What the f32 angle (transformers' `position.float() * inv_freq`) would give instead.
                let f32 = Float(p) * Float(Foundation.pow(theta, -Double(2 * i) / Double(r)))
                worstF32Angle = max(worstF32Angle, abs(Double(cosf(f32)) - cos(a)))
            }
        }
        // Float rounding of cos/sin alone is ≤ 6e-8.
        XCTAssertLessThanOrEqual(worst, 2e-7, "cos/sin against the Double reference")
        // The check can fail: an f32 angle is off by about 1e-2 here.
        XCTAssertGreaterThan(worstF32Angle, 1e-3, "the f32 angle was expected to drift at these positions")
    }

    func testApplyRotatesAtLargeStart() {
        let d = 16, r = 8, theta = 1e7, heads = 2, tokens = 3, start = 262_142
        let rope = RotaryEmbedding(headDim: d, rotaryDim: r, theta: theta)
        let x: [Float] = (0..<(tokens * heads * d)).map { Float(($0 * 37) % 11) - 5 }   // [T, heads, D]
        var y = x
        y.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, tokens: tokens, heads: heads, start: start) }
        var worst: Double = 0
        for t in 0..<tokens {
            for h in 0..<heads {
                let o = (t * heads + h) * d
                for i in 0..<(r / 2) {
                    let a = Self.referenceAngle(position: start + t, pair: i, rotaryDim: r, theta: theta)
                    let x1 = Double(x[o + i]), x2 = Double(x[o + i + r / 2])
                    worst = max(worst, abs(Double(y[o + i]) - (x1 * cos(a) - x2 * sin(a))),
                                abs(Double(y[o + i + r / 2]) - (x2 * cos(a) + x1 * sin(a))))
                }
                XCTAssertEqual(Array(y[(o + r)..<(o + d)]), Array(x[(o + r)..<(o + d)]), "dims past R must pass through")
            }
        }
        XCTAssertLessThanOrEqual(worst, 5e-6)
    }

    func testLinearDividesEveryFrequency() {
        let plain = RoPEScaling.none.frequencies(rotaryDim: 16, theta: 1e4)
        let linear = RoPEScaling.linear(factor: 8).frequencies(rotaryDim: 16, theta: 1e4)
        XCTAssertEqual(linear.attentionFactor, 1)
        for (a, b) in zip(plain.inverse, linear.inverse) { XCTAssertEqual(b, a / 8, accuracy: 1e-15) }
    }

    /// `_compute_yarn_parameters` by hand for R = 16, θ = 1e4, original window 64, factor 4:
    /// correction dims d(32) < 0 → low 0, d(1) = 16·ln(64/2π)/(2·ln 1e4) = 2.02 → high 3; pair i keeps
    /// 1 − i/3 of its own frequency and takes i/3 of the interpolated one (i ≤ 3).
    func testYaRNBlendsAcrossTheRamp() {
        let y = RoPEScaling.YaRN(factor: 4, originalMaxPositions: 64)
        let (low, high) = y.correctionRange(rotaryDim: 16, theta: 1e4)
        XCTAssertEqual(low, 0)
        XCTAssertEqual(high, 3)
        let (inv, attention) = RoPEScaling.yarn(y).frequencies(rotaryDim: 16, theta: 1e4)
        for i in 0..<8 {
            let w = Foundation.pow(1e4, -Double(i) / 8), ramp = min(Double(i) / 3, 1)
            XCTAssertEqual(inv[i], w * (1 - ramp) + w / 4 * ramp, accuracy: 1e-15, "pair \(i)")
        }
        XCTAssertEqual(attention, 0.1 * log(4.0) + 1, accuracy: 1e-15)
    }

    func testYaRNAttentionFactorRules() {
        var y = RoPEScaling.YaRN(factor: 16, originalMaxPositions: 4096)
        XCTAssertEqual(y.resolvedAttentionFactor, 0.1 * log(16.0) + 1, accuracy: 1e-15)
        y.mscale = 0.707; y.mscaleAllDim = 0.707   // DeepSeek-style: equal mscales cancel
        XCTAssertEqual(y.resolvedAttentionFactor, 1, accuracy: 1e-15)
        y.mscale = 1; y.mscaleAllDim = 0           // `if mscale and mscale_all_dim`: 0 counts as unset
        XCTAssertEqual(y.resolvedAttentionFactor, 0.1 * log(16.0) + 1, accuracy: 1e-15)
        y.attentionFactor = 0.5                    // an explicit value wins
        XCTAssertEqual(y.resolvedAttentionFactor, 0.5)
        XCTAssertEqual(RoPEScaling.YaRN(factor: 1, originalMaxPositions: 64).resolvedAttentionFactor, 1)
    }

    func testYaRNWithoutTruncationKeepsFractionalEnds() {
        var y = RoPEScaling.YaRN(factor: 4, originalMaxPositions: 64, truncate: false)
        let (low, high) = y.correctionRange(rotaryDim: 16, theta: 1e4)
        XCTAssertEqual(low, 0)   // negative, clamped
        XCTAssertEqual(high, 16 * log(64 / (2 * Double.pi)) / (2 * log(1e4)), accuracy: 1e-12)
        y.betaFast = 1; y.betaSlow = 1   // an empty ramp is widened by 0.001, not divided by 0
        let r = y.correctionRange(rotaryDim: 16, theta: 1e4)
        XCTAssertEqual(r.high - r.low, 0.001, accuracy: 1e-12)
        XCTAssertFalse(RoPEScaling.yarn(y).frequencies(rotaryDim: 16, theta: 1e4).inverse.contains { !$0.isFinite })
    }
}
