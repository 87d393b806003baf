import GGUF
import SafeTensors
import TensorCore

/// Where a model's layers get their weights, whatever the file format. Layers ask by **checkpoint name and
/// PyTorch shape** (the transformers names of ARCHITECTURE.md §2, e.g. `model.layers.0.linear_attn.A_log`
/// `[Hv]`) and receive tensors with the checkpoint's semantics; a source for another format translates names
/// and undoes its layout changes in one place (`Qwen35GGUFSource` for llama.cpp's GGUF). Loading stays strict:
/// every stored tensor must be taken or skipped by a named rule before `finish()`.
public protocol WeightSource: AnyObject, Sendable {
    /// The file or index the tensors come from (for messages).
    var source: String { get }
    func contains(_ name: String) -> Bool
    /// The tensor `name` with `shape`, marked consumed; throws naming the stored tensor when it is missing or
    /// differs.
    func take(_ name: String, shape: [Int]) throws -> WeightTensor
    /// Marks every stored tensor that the rule matches (by checkpoint name) as deliberately unused.
    @discardableResult func skip(where rule: (String) -> Bool) -> Int
    /// Throws if a stored tensor was neither taken nor skipped.
    func finish() throws
    /// Every stored tensor the model uses (skipped ones excluded), for load summaries.
    var storedTensors: [StoredTensorInfo] { get }
    /// The routed experts' gate and up projections, checkpoint tensor `name` (`…mlp.experts.gate_up_proj`,
    /// `[experts, 2·width, hidden]`), as the source stores them: fused, or as two tensors (GGUF) that are not
    /// copied into a fused one (at 35B that copy would be most of the weights twice).
    func takeExpertGateUp(_ name: String, experts: Int, width: Int, hidden: Int) throws -> ExpertGateUp
}

extension WeightSource {
    public func takeExpertGateUp(_ name: String, experts: Int, width: Int, hidden: Int) throws -> ExpertGateUp {
        .fused(try take(name, shape: [experts, 2 * width, hidden]))
    }
}

/// The routed experts' gate and up projections, read in place whichever way they are stored.
public enum ExpertGateUp: Sendable {
    /// `[E, 2·Im, H]`: per expert the gate rows, then the up rows (transformers' `gate_up_proj`).
    case fused(WeightTensor)
    /// `[E, Im, H]` each (llama.cpp's `ffn_gate_exps`, `ffn_up_exps`).
    case split(gate: WeightTensor, up: WeightTensor)

    /// Expert `e`'s gate and up matrices, `[Im, H]` each (views, no copy).
    public func expert(_ e: Int) -> (gate: WeightTensor, up: WeightTensor) {
        switch self {
        case .fused(let t):
            let both = t.slice(row: e, dropLeading: true)    // [2Im, H]
            let im = both.shape[0] / 2
            return (both.slice(row: 0, count: im, dropLeading: false), both.slice(row: im, count: im, dropLeading: false))
        case .split(let gate, let up):
            return (gate.slice(row: e, dropLeading: true), up.slice(row: e, dropLeading: true))
        }
    }
}

/// One stored tensor as the file holds it (name, format and size in that file's terms).
public struct StoredTensorInfo: Sendable {
    public let name: String
    public let format: String
    public let elementCount: Int
    public let byteCount: Int
    /// A routed expert tensor (`mlp.experts.*`, `ffn_*_exps`): counted once per active expert.
    public var isRoutedExpert: Bool { name.contains(".mlp.experts.") || name.hasSuffix("_exps.weight") }
}

extension WeightStore: WeightSource {
    public var storedTensors: [StoredTensorInfo] {
        entries.values.filter { !Qwen35Checkpoint.isSkipped($0.name) }.map {
            StoredTensorInfo(name: $0.name, format: $0.dtype.rawValue, elementCount: $0.elementCount, byteCount: $0.byteCount)
        }
    }
}
