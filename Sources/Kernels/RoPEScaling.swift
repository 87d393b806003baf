import Foundation

/// How RoPE frequencies are rescaled to reach past the pre-training window (`rope_parameters.rope_type`),
/// ported from transformers `modeling_rope_utils.py` (`_compute_linear_scaling_rope_parameters`,
/// `_compute_yarn_parameters`). Both are static: the frequencies do not depend on the sequence, so a
/// cached prefix and a fresh prompt see the same angles.
public enum RoPEScaling: Sendable, Equatable {
    /// Plain RoPE (`rope_type` "default").
    case none
    /// Position interpolation: every ω_i divided by `factor`.
    case linear(factor: Double)
    /// YaRN (arXiv 2309.00071): fast pairs keep ω_i, slow pairs are interpolated, a linear ramp between.
    case yarn(YaRN)

    /// The YaRN parameters with transformers' defaults already applied (the loader fills them in).
    public struct YaRN: Sendable, Equatable {
        public var factor: Double
        /// The pre-training window the ramp is measured against.
        public var originalMaxPositions: Int
        public var betaFast: Double
        public var betaSlow: Double
        /// Multiplies cos and sin; nil = derived from `factor` (and `mscale` / `mscaleAllDim` when both set).
        public var attentionFactor: Double?
        public var mscale: Double?
        public var mscaleAllDim: Double?
        /// Round the ramp's ends outwards to whole dims (transformers' default true).
        public var truncate: Bool

        public init(factor: Double, originalMaxPositions: Int, betaFast: Double = 32, betaSlow: Double = 1,
                    attentionFactor: Double? = nil, mscale: Double? = nil, mscaleAllDim: Double? = nil,
                    truncate: Bool = true) {
            self.factor = factor; self.originalMaxPositions = originalMaxPositions
            self.betaFast = betaFast; self.betaSlow = betaSlow; self.attentionFactor = attentionFactor
            self.mscale = mscale; self.mscaleAllDim = mscaleAllDim; self.truncate = truncate
        }

        /// The factor on cos and sin: "0.1 · mscale · ln(factor) + 1", as a ratio when both mscales are set.
        public var resolvedAttentionFactor: Double {
            if let attentionFactor { return attentionFactor }
            func mscaleOf(_ scale: Double, _ m: Double = 1) -> Double { scale <= 1 ? 1 : 0.1 * m * Foundation.log(scale) + 1 }
            // `if mscale and mscale_all_dim`: Python truthiness, so 0 counts as unset.
            if let m = mscale, let all = mscaleAllDim, m != 0, all != 0 { return mscaleOf(factor, m) / mscaleOf(factor, all) }
            return mscaleOf(factor)
        }
    }

    /// ω_i for i in 0..<R/2 and the cos/sin factor, in Double (see `RotaryEmbedding`).
    public func frequencies(rotaryDim r: Int, theta: Double) -> (inverse: [Double], attentionFactor: Double) {
        // 1 / (base ** (arange(0, dim, 2) / dim))
        let base = (0..<(r / 2)).map { i in 1 / Foundation.pow(theta, Double(2 * i) / Double(r)) }   // [R/2]
        switch self {
        case .none:
            return (base, 1)
        case .linear(let factor):
            return (base.map { $0 / factor }, 1)
        case .yarn(let y):
            let (low, high) = y.correctionRange(rotaryDim: r, theta: theta)
            let inverse = base.enumerated().map { i, extrapolated in
                // inv_freq_interpolation * (1 - extrapolation_factor) + inv_freq_extrapolation * extrapolation_factor
                let ramp = min(max((Double(i) - low) / (high - low), 0), 1)
                let extrapolation = 1 - ramp
                return extrapolated / y.factor * (1 - extrapolation) + extrapolated * extrapolation
            }
            return (inverse, y.resolvedAttentionFactor)
        }
    }
}

extension RoPEScaling.YaRN {
    /// The pair indices between which the ramp runs: pairs turning more than `betaFast` times over the original
    /// window keep their frequency, fewer than `betaSlow` times are fully interpolated
    /// (`find_correction_range`, with `linear_ramp_factor`'s guard against an empty ramp).
    func correctionRange(rotaryDim r: Int, theta: Double) -> (low: Double, high: Double) {
        func dim(_ rotations: Double) -> Double {
            Double(r) * Foundation.log(Double(originalMaxPositions) / (rotations * 2 * Double.pi)) / (2 * Foundation.log(theta))
        }
        var low = dim(betaFast), high = dim(betaSlow)
        if truncate { low = low.rounded(.down); high = high.rounded(.up) }
        low = max(low, 0); high = min(high, Double(r - 1))
        if low == high { high += 0.001 }   // "Prevent singularity"
        return (low, high)
    }
}
