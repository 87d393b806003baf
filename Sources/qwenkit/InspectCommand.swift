import ArgumentParser
import Foundation
import Kernels
import LanguageModels
import SafeTensors
import TensorCore

/// `qwenkit inspect --model DIR`: what a checkpoint is and what it costs, from `config.json` and the
/// safetensors headers alone (files are mapped, no weight is read).
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Describe a checkpoint: architecture, shapes, parameters, dtypes, memory.")

    @Option(name: .long, help: "Model directory (config.json + safetensors).")
    var model: String

    @Flag(name: .long, help: "Print the description as JSON.")
    var json = false

    @Option(name: .customLong("kv-type"), help: KVOptionHelp.kvType)
    var kvType = KVType.f32

    @Option(name: .customLong("kv-memory"), help: "A memory budget for one sequence's KV cache and state (4GiB, 512MiB, 0.25 of RAM): report the longest context that fits.")
    var kvMemory: String?

    func validate() throws {
        if let kvMemory { _ = try parseMemory(kvMemory, "--kv-memory") }
    }

    func run() throws {
        do {
            let report = try InspectReport(directory: URL(fileURLWithPath: model), kvType: kvType,
                                           kvMemory: try kvMemory.map { try parseMemory($0, "--kv-memory") })
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.text)
            }
        } catch {
            // One line, lower-case prefix, non-zero exit (ArgumentParser's default would print "Error: ").
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

/// The facts `inspect` prints (also its `--json` form).
struct InspectReport: Encodable {
    struct Attention: Encodable {
        var layers, heads, kvHeads, headDim, rotaryDim: Int; var ropeTheta: Double
        /// e.g. "yarn ×4 over 262144 positions → context 1048576"; nil for plain RoPE.
        var ropeScaling: String?
    }
    struct DeltaNet: Encodable { var layers, keyHeads, valueHeads, keyDim, valueDim, convKernel, convChannels: Int }
    struct FFN: Encodable {
        var kind: String  // "dense" / "moe"
        var intermediate: Int?
        var experts, expertsPerToken, expertIntermediate, sharedExpertIntermediate: Int?
    }
    struct Parameters: Encodable {
        var text: Int
        var activePerToken: Int
        /// Tensors the text model skips, by group (`visual`, `mtp`, `other`): tensor count and parameters.
        var skipped: [String: Group]
        struct Group: Encodable { var tensors: Int; var parameters: Int }
    }
    struct Memory: Encodable {
        var mappedBytes: Int
        var tensorBytes: Int
        var files: [String: Int]
        var cacheDType: String
        var kvBytesPerToken: Int
        var recurrentBytesPerSequence: Int
        var maxPositionEmbeddings: Int
        /// With `--kv-memory`: the budget and the longest context of one sequence that fits it.
        var budgetBytes: Int?
        var maxContextInBudget: Int?
    }

    var model: String
    var modelType: String
    var layerPattern: String
    var layers: Int
    var hidden: Int
    var vocab: Int
    var tiedEmbeddings: Bool
    var attention: Attention
    var deltaNet: DeltaNet
    var ffn: FFN
    var parameters: Parameters
    var dtypes: [String: Int]
    var memory: Memory
    var notes: [String]

    init(directory: URL, kvType: KVType = .f32, kvMemory: Int? = nil) throws {
        let config = try Qwen35Config.load(directory: directory)
        try kvType.check(headDim: config.headDim)
        let store = try WeightStore(directory: directory)
        let c = config
        model = directory.path
        modelType = c.modelType
        layers = c.numHiddenLayers
        layerPattern = Self.pattern(c.layerTypes)
        hidden = c.hiddenSize
        vocab = c.vocabSize
        tiedEmbeddings = c.tieWordEmbeddings
        let attnLayers = c.layerTypes.filter { $0 == .fullAttention }.count
        let gdnLayers = c.numHiddenLayers - attnLayers
        attention = Attention(layers: attnLayers, heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads,
                              headDim: c.headDim, rotaryDim: c.rotaryDim, ropeTheta: c.ropeTheta,
                              ropeScaling: Self.describe(c.ropeScaling, context: c.contextLength))
        deltaNet = DeltaNet(layers: gdnLayers, keyHeads: c.linearNumKeyHeads, valueHeads: c.linearNumValueHeads,
                            keyDim: c.linearKeyHeadDim, valueDim: c.linearValueHeadDim,
                            convKernel: c.linearConvKernelDim, convChannels: c.convDim)
        ffn = c.isMoE
            ? FFN(kind: "moe", intermediate: nil, experts: c.numExperts, expertsPerToken: c.numExpertsPerTok,
                  expertIntermediate: c.moeIntermediateSize, sharedExpertIntermediate: c.sharedExpertIntermediateSize)
            : FFN(kind: "dense", intermediate: c.intermediateSize, experts: nil, expertsPerToken: nil,
                  expertIntermediate: nil, sharedExpertIntermediate: nil)

        // Parameters: text backbone + lm_head; routed experts count k/E of their weights per token.
        var text = 0, routed = 0
        var skipped: [String: Parameters.Group] = [:]
        var dtypes: [String: Int] = [:]
        for e in store.entries.values {
            dtypes[e.dtype.rawValue, default: 0] += 1
            let group = Self.group(of: e.name)
            if group == "text" {
                text += e.elementCount
                if e.name.contains(".mlp.experts.") { routed += e.elementCount }
            } else {
                skipped[group, default: .init(tensors: 0, parameters: 0)].tensors += 1
                skipped[group, default: .init(tensors: 0, parameters: 0)].parameters += e.elementCount
            }
        }
        let active = c.isMoE ? text - routed + routed / c.numExperts! * c.numExpertsPerTok! : text
        parameters = Parameters(text: text, activePerToken: active, skipped: skipped)
        self.dtypes = dtypes

        // K and V per attention layer in the KV type; per GDN layer the f32 delta-rule state S [Hv, dk, dv] plus
        // the last K−1 conv inputs [K−1, C].
        let plan = c.memoryPlan(kvType: kvType)
        memory = Memory(
            mappedBytes: store.mappedBytes, tensorBytes: store.totalBytes,
            files: Dictionary(uniqueKeysWithValues: store.files.map { ($0.name, $0.fileSize) }),
            cacheDType: kvType.rawValue, kvBytesPerToken: plan.kvBytesPerToken,
            recurrentBytesPerSequence: plan.recurrentBytes, maxPositionEmbeddings: c.maxPositionEmbeddings,
            budgetBytes: kvMemory.flatMap { $0 > 0 ? $0 : nil },
            maxContextInBudget: kvMemory.flatMap { $0 > 0 ? plan.maxTokens(budget: $0) : nil })

        var notes: [String] = []
        let hasHead = store.entries.keys.contains { $0 == "lm_head.weight" }
        if c.tieWordEmbeddings && hasHead { notes.append("tie_word_embeddings is true but lm_head.weight is present") }
        if !c.tieWordEmbeddings && !hasHead { notes.append("tie_word_embeddings is false but lm_head.weight is absent") }
        self.notes = notes
    }

    /// `text` (loaded), or the group a text engine skips: `visual`, `mtp`, `other`.
    static func group(of name: String) -> String {
        if name.hasPrefix("model.visual.") || name.hasPrefix("visual.") { return "visual" }
        if name.hasPrefix("mtp.") { return "mtp" }
        if name.hasPrefix("model.") || name.hasPrefix("lm_head.") { return "text" }
        return "other"
    }

    /// "L L L F ×6": the shortest repeating unit of the layer schedule (L = Gated DeltaNet, F = full attention).
    static func pattern(_ types: [Qwen35Config.LayerType]) -> String {
        let letters = types.map { $0 == .fullAttention ? "F" : "L" }
        guard !letters.isEmpty else { return "" }
        for p in 1...letters.count where letters.count % p == 0 {
            let unit = Array(letters[0..<p])
            if (0..<letters.count).allSatisfy({ letters[$0] == unit[$0 % p] }) {
                let n = letters.count / p
                return unit.joined(separator: " ") + (n > 1 ? " ×\(n)" : "")
            }
        }
        return letters.joined(separator: " ")
    }

    static func describe(_ scaling: RoPEScaling, context: Int) -> String? {
        switch scaling {
        case .none: return nil
        case .linear(let f): return "linear ×\(number(f)) → context \(context)"
        case .yarn(let y): return "yarn ×\(number(y.factor)) over \(y.originalMaxPositions) positions → context \(context)"
        }
    }

    // MARK: - Text form

    var text: String {
        let a = attention, g = deltaNet, p = parameters, m = memory
        var lines: [(String, String)] = []
        lines.append(("model", model))
        let wrapper = modelType.hasSuffix("_text") ? "text-only" : "multimodal checkpoint, text model"
        lines.append(("architecture", "\(modelType) (\(ffn.kind == "moe" ? "MoE" : "dense"), \(wrapper))"))
        lines.append(("layers", "\(layers): \(layerPattern)  (L = Gated DeltaNet ×\(g.layers), F = gated full attention ×\(a.layers))"))
        lines.append(("hidden", "\(hidden)"))
        lines.append(("attention", "Hq \(a.heads), Hkv \(a.kvHeads), D \(a.headDim), rotary \(a.rotaryDim), rope θ \(Self.number(a.ropeTheta))" + (a.ropeScaling.map { ", \($0)" } ?? "")))
        lines.append(("gated deltanet", "Hk \(g.keyHeads), Hv \(g.valueHeads), dk \(g.keyDim), dv \(g.valueDim), K \(g.convKernel), conv channels C \(g.convChannels)"))
        if ffn.kind == "moe" {
            lines.append(("moe", "E \(ffn.experts!), k \(ffn.expertsPerToken!), Im \(ffn.expertIntermediate!), Is \(ffn.sharedExpertIntermediate!) (shared expert)"))
        } else {
            lines.append(("mlp", "SwiGLU, I \(ffn.intermediate!)"))
        }
        lines.append(("vocab", "\(vocab)"))
        lines.append(("tied embeddings", tiedEmbeddings ? "yes (no lm_head.weight)" : "no"))
        lines.append(("parameters", "\(Self.count(p.text)) text, \(Self.count(p.activePerToken)) active per token (embedding and lm_head included)"))
        for (group, s) in p.skipped.sorted(by: { $0.key > $1.key }) {
            lines.append(("  skipped \(group)", "\(Self.count(s.parameters)) in \(s.tensors) tensors"))
        }
        let dt = dtypes.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        lines.append(("dtypes", dt + " (tensors)"))
        lines.append(("bytes to map", "\(Self.bytes(m.mappedBytes)) in \(m.files.count) file\(m.files.count == 1 ? "" : "s") (tensor data \(Self.bytes(m.tensorBytes)))"))
        let element = KVType(rawValue: m.cacheDType).map { String(format: "%g", Double($0.bytes(elements: 32)) / 32) } ?? "?"
        lines.append(("kv cache", "\(Self.bytes(m.kvBytesPerToken)) per token of context (\(Self.layers(a.layers)) × 2 × Hkv \(a.kvHeads) × D \(a.headDim) × \(element) B, \(m.cacheDType))"))
        lines.append(("recurrent state", "\(Self.bytes(m.recurrentBytesPerSequence)) per sequence (\(Self.layers(g.layers)) × (Hv·dk·dv + (K−1)·C) × 4 B, f32)"))
        lines.append(("context", "\(Self.count(m.maxPositionEmbeddings)) tokens (max_position_embeddings): KV \(Self.bytes(m.kvBytesPerToken * m.maxPositionEmbeddings)) + state for one sequence"))
        if let budget = m.budgetBytes, let fit = m.maxContextInBudget {
            let limit = fit >= m.maxPositionEmbeddings ? " (the whole context)" : ""
            lines.append(("kv budget", "\(Self.bytes(budget)) holds \(Self.count(min(fit, m.maxPositionEmbeddings))) tokens of context in one sequence\(limit)"))
        }
        for n in notes { lines.append(("note", n)) }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }

    /// 752,393,024 (752.4M)
    static func count(_ n: Int) -> String {
        let plain = String(n)
        var digits = ""
        for (i, ch) in plain.enumerated() {
            if i > 0 && (plain.count - i) % 3 == 0 { digits += "," }
            digits.append(ch)
        }
        let short: String
        switch n {
        case 1_000_000_000...: short = String(format: "%.2fB", Double(n) / 1e9)
        case 1_000_000...: short = String(format: "%.1fM", Double(n) / 1e6)
        case 1_000...: short = String(format: "%.1fK", Double(n) / 1e3)
        default: return digits
        }
        return "\(digits) (\(short))"
    }

    /// 1,746,942,632 B (1.63 GiB)
    static func bytes(_ n: Int) -> String {
        let units: [(Double, String)] = [(1_073_741_824, "GiB"), (1_048_576, "MiB"), (1024, "KiB")]
        let exact = count(n).split(separator: " ").first.map(String.init) ?? "\(n)"
        for (size, name) in units where Double(n) >= size {
            return "\(exact) B (\(String(format: "%.2f", Double(n) / size)) \(name))"
        }
        return "\(exact) B"
    }

    static func layers(_ n: Int) -> String { n == 1 ? "1 layer" : "\(n) layers" }

    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
    }
}
