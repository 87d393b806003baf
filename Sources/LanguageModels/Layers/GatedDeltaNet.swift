import Kernels
import SafeTensors
import TensorCore

/// PLACEHOLDER with the agreed API; the real Gated DeltaNet block (ARCHITECTURE.md §3.2) replaces it.
public struct GatedDeltaNet: Sendable {
    public let config: Qwen35Config

    /// Takes `<prefix>in_proj_qkv.weight`, `in_proj_z`, `in_proj_b`, `in_proj_a`, `conv1d.weight`, `A_log`,
    /// `dt_bias`, `norm.weight`, `out_proj.weight` from `store`; `prefix` ends with `linear_attn.`.
    public init(config: Qwen35Config, store: WeightStore, prefix: String) throws {
        self.config = config
    }

    /// A fresh (all-zero) state for this layer.
    public func makeState() -> RecurrentState {
        RecurrentState(convChannels: config.convDim, kernel: config.linearConvKernelDim,
                       valueHeads: config.linearNumValueHeads, keyDim: config.linearKeyHeadDim,
                       valueDim: config.linearValueHeadDim)
    }

    /// `x`: normed input `[T, H]` → mixer output `[T, H]`, advancing `state`. T > 1 uses the chunked delta
    /// rule, T == 1 the recurrent step.
    public func callAsFunction(_ x: [Float], tokens: Int, state: inout RecurrentState, pool: ThreadPool = .shared) -> [Float] {
        fatalError("GatedDeltaNet: not implemented yet")
    }
}
