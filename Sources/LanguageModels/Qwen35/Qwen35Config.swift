import Foundation
import Kernels

/// The text hyper-parameters of a Qwen3.5 checkpoint (ARCHITECTURE.md §1). Field names follow
/// `text_config`. Parsing (nested multimodal or flat text shape) and validation live in
/// `Qwen35Config+Loading.swift`.
public struct Qwen35Config: Sendable, Equatable {
    public enum LayerType: String, Sendable, Equatable { case linearAttention = "linear_attention", fullAttention = "full_attention" }

    public var modelType: String            // qwen3_5 / qwen3_5_moe / qwen3_5_text / qwen3_5_moe_text
    public var vocabSize: Int               // V
    public var hiddenSize: Int              // H
    public var numHiddenLayers: Int         // L
    public var layerTypes: [LayerType]      // explicit list, or derived from full_attention_interval
    public var rmsNormEps: Float
    public var tieWordEmbeddings: Bool
    public var maxPositionEmbeddings: Int

    // Gated full attention
    public var numAttentionHeads: Int       // Hq
    public var numKeyValueHeads: Int        // Hkv
    public var headDim: Int                 // D
    public var ropeTheta: Double
    public var partialRotaryFactor: Double  // R = Int(D * factor)
    /// `rope_parameters.rope_type` and its parameters (linear / YaRN), `.none` for plain RoPE.
    public var ropeScaling: RoPEScaling

    // Gated DeltaNet
    public var linearNumKeyHeads: Int       // Hk
    public var linearNumValueHeads: Int     // Hv
    public var linearKeyHeadDim: Int        // dk
    public var linearValueHeadDim: Int      // dv
    public var linearConvKernelDim: Int     // K

    // Dense MLP (dense models)
    public var intermediateSize: Int?       // I

    // Sparse MoE (MoE models)
    public var numExperts: Int?             // E
    public var numExpertsPerTok: Int?       // k
    public var moeIntermediateSize: Int?    // Im
    public var sharedExpertIntermediateSize: Int? // Is

    public var eosTokenIds: [Int]

    public var isMoE: Bool { numExperts != nil }
    public var rotaryDim: Int { Int(Double(headDim) * partialRotaryFactor) }
    /// The positions the model takes: `max_position_embeddings`, or the window a RoPE scaling stretches its
    /// original window to (factor × original, e.g. 4 × 262,144 for the released models' YaRN recipe) when
    /// that is larger. transformers itself never refuses a position; past this the angles are ones the
    /// model never saw, so QwenKit refuses them before any compute.
    public var contextLength: Int {
        switch ropeScaling {
        case .none: return maxPositionEmbeddings
        case .linear(let factor): return max(maxPositionEmbeddings, Self.scaledWindow(maxPositionEmbeddings, factor))
        case .yarn(let y): return max(maxPositionEmbeddings, Self.scaledWindow(y.originalMaxPositions, y.factor))
        }
    }

    /// ⌊factor × window⌋, saturating (`validate()` bounds the result; this must not trap before it runs).
    static func scaledWindow(_ window: Int, _ factor: Double) -> Int {
        let scaled = (Double(window) * factor).rounded(.down)
        return scaled.isFinite && scaled < Double(1 << 62) ? Int(max(scaled, 0)) : 1 << 62
    }
    /// Conv channels C = 2·Hk·dk + Hv·dv.
    public var convDim: Int { 2 * linearNumKeyHeads * linearKeyHeadDim + linearNumValueHeads * linearValueHeadDim }

    public init(
        modelType: String, vocabSize: Int, hiddenSize: Int, numHiddenLayers: Int, layerTypes: [LayerType],
        rmsNormEps: Float, tieWordEmbeddings: Bool, maxPositionEmbeddings: Int,
        numAttentionHeads: Int, numKeyValueHeads: Int, headDim: Int, ropeTheta: Double, partialRotaryFactor: Double,
        linearNumKeyHeads: Int, linearNumValueHeads: Int, linearKeyHeadDim: Int, linearValueHeadDim: Int,
        linearConvKernelDim: Int, intermediateSize: Int?, numExperts: Int?, numExpertsPerTok: Int?,
        moeIntermediateSize: Int?, sharedExpertIntermediateSize: Int?, eosTokenIds: [Int],
        ropeScaling: RoPEScaling = .none
    ) {
        self.modelType = modelType; self.vocabSize = vocabSize; self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers; self.layerTypes = layerTypes; self.rmsNormEps = rmsNormEps
        self.tieWordEmbeddings = tieWordEmbeddings; self.maxPositionEmbeddings = maxPositionEmbeddings
        self.numAttentionHeads = numAttentionHeads; self.numKeyValueHeads = numKeyValueHeads; self.headDim = headDim
        self.ropeTheta = ropeTheta; self.partialRotaryFactor = partialRotaryFactor; self.ropeScaling = ropeScaling
        self.linearNumKeyHeads = linearNumKeyHeads; self.linearNumValueHeads = linearNumValueHeads
        self.linearKeyHeadDim = linearKeyHeadDim; self.linearValueHeadDim = linearValueHeadDim
        self.linearConvKernelDim = linearConvKernelDim; self.intermediateSize = intermediateSize
        self.numExperts = numExperts; self.numExpertsPerTok = numExpertsPerTok
        self.moeIntermediateSize = moeIntermediateSize; self.sharedExpertIntermediateSize = sharedExpertIntermediateSize
        self.eosTokenIds = eosTokenIds
    }
}
