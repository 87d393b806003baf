import Foundation
import GGUF
import LanguageModels
import SafeTensors
import Templating
import TensorCore
import Tokenization

extension StreamingDetokenizer: StreamingTextDecoder {}

/// Everything in one model directory, loaded in one call: config and weights (memory-mapped), tokenizer,
/// chat template and `generation_config.json` defaults (a GGUF's `general.sampling.*`).
public final class ModelBundle: @unchecked Sendable {
    public let directory: URL
    public let model: Qwen35Model
    public let tokenizer: Tokenizer
    /// nil when the directory has no chat template (raw completion still works).
    public let template: ChatTemplate?
    public let generationConfig: GenerationConfig

    /// Loads `directory`; with `showProgress`, draws a progress bar on stderr when it is a terminal.
    /// A `.gguf` file instead of a directory loads model, tokenizer and chat template from its metadata.
    /// `kvType`: how the model's KV caches store keys and values (`--kv-type`).
    public init(directory: URL, showProgress: Bool = false, kvType: KVType = .f32) throws {
        self.directory = directory
        if directory.pathExtension.lowercased() == "gguf" {
            let file = try GGUFFile(path: directory.path)
            model = try Qwen35Model(gguf: file, kvType: kvType)
            tokenizer = try GGUFTokenizer.load(file)
            template = try file.metadata["tokenizer.chat_template"]?.string.map {
                try ChatTemplate(source: $0, name: "\(directory.lastPathComponent) tokenizer.chat_template")
            }
            generationConfig = try GenerationConfig(gguf: file)
            return
        }
        let bar = showProgress && isatty(2) != 0 ? ProgressBar() : nil
        model = try Qwen35Model(directory: directory, kvType: kvType, progress: bar.map { b in { @Sendable p in b.update(p) } })
        bar?.done()
        tokenizer = try Tokenizer.load(directory: directory)
        // No template is fine (raw completion); a template that does not parse is an error naming it.
        template = ChatFormatter.hasTemplate(directory) ? try ChatTemplate.load(directory: directory) : nil
        generationConfig = try GenerationConfig.load(directory: directory)
    }

    /// End-of-sequence ids: generation_config.json, then config.json, then the tokenizer's eos token.
    public var eosTokenIDs: Set<Int> {
        var ids = Set(generationConfig.eosTokenIDs).union(model.eosTokenIds)
        if let eos = tokenizer.eosToken, let id = tokenizer.tokenID(eos) { ids.insert(id) }
        return ids
    }

    /// Parameters total and active per token (routed experts count k/E), over the text model's tensors.
    public var parameterCounts: (total: Int, active: Int) {
        var total = 0, routed = 0
        for e in model.weights.storedTensors {
            total += e.elementCount
            if e.isRoutedExpert { routed += e.elementCount }
        }
        let c = model.config
        let active = total - routed + (c.numExperts.map { routed / $0 * (c.numExpertsPerTok ?? 0) } ?? 0)
        return (total, active)
    }

    /// One line: model, parameters total/active, dtype, memory.
    public var summary: String {
        let c = model.config
        let (total, active) = parameterCounts
        var dtypes: [String: Int] = [:]
        for e in model.weights.storedTensors { dtypes[e.format, default: 0] += e.byteCount }
        let main = dtypes.max { $0.value < $1.value }?.key ?? "?"
        func m(_ n: Int) -> String { n >= 1_000_000_000 ? String(format: "%.2fB", Double(n) / 1e9) : String(format: "%.1fM", Double(n) / 1e6) }
        return "\(directory.lastPathComponent): \(c.modelType) \(c.isMoE ? "MoE" : "dense"), \(c.numHiddenLayers) layers, " +
            "\(m(total)) parameters (\(m(active)) active), \(main), " +
            String(format: "%.2f GiB mapped", Double(model.weights.storedTensors.reduce(0) { $0 + $1.byteCount }) / 1_073_741_824)
    }

    /// The id of the tag that ends reasoning (the thinking budget forces it).
    public var thinkEndTokenID: Int? { tokenizer.tokenID(ReplyParser.reasoningEnd) }

    /// A scheduler over this model whose sequences detokenize with this tokenizer.
    public func makeScheduler(options: SchedulerOptions) -> Scheduler {
        let tokenizer = tokenizer
        return Scheduler(model: model, options: options) { StreamingDetokenizer(tokenizer: tokenizer) }
    }

    /// The chat formatter of this directory (template + tokenizer).
    public var chat: ChatFormatter { ChatFormatter(tokenizer: tokenizer, template: template, directory: directory) }

    /// Renders a chat through the template and encodes it.
    public func renderChat(messages: [JSONValue], tools: [JSONValue]?, options: ChatTemplateOptions) throws -> (prompt: String, ids: [Int]) {
        try chat.render(messages: messages, tools: tools, options: options)
    }
}

/// Chat → prompt text → ids, with the model's chat template and tokenizer (no weights needed).
public struct ChatFormatter: Sendable {
    public let tokenizer: Tokenizer
    public let template: ChatTemplate?
    public let directory: URL

    public init(tokenizer: Tokenizer, template: ChatTemplate?, directory: URL) {
        self.tokenizer = tokenizer
        self.template = template
        self.directory = directory
    }

    /// Loads the tokenizer and the chat template (`chat_template.jinja`, `tokenizer_config.json`, or `templatePath`).
    public init(directory: URL, templatePath: String? = nil) throws {
        self.init(tokenizer: try Tokenizer.load(directory: directory),
                  template: try ChatTemplate.load(directory: directory, explicitPath: templatePath), directory: directory)
    }

    /// Whether a rendered prompt leaves the model inside `<think>` (Qwen3.5's generation prompt with thinking on),
    /// so that the reply starts as reasoning.
    public static func startsInReasoning(_ prompt: String) -> Bool { prompt.hasSuffix("<think>\n") }

    /// Whether `directory` has a chat template (`chat_template.jinja` or one in `tokenizer_config.json`).
    public static func hasTemplate(_ directory: URL) -> Bool {
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("chat_template.jinja").path) { return true }
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("tokenizer_config.json").path),
              let config = try? JSONValue.parse(data) else { return false }
        return config["chat_template"] != nil
    }

    /// The template's variables for special tokens (`bos_token`, `eos_token`, …) from tokenizer_config.json.
    public var specialTokens: [String: String] {
        var special: [String: String] = [:]
        if let eos = tokenizer.eosToken { special["eos_token"] = eos }
        if let bos = tokenizer.bosToken { special["bos_token"] = bos }
        if let pad = tokenizer.padToken { special["pad_token"] = pad }
        return special
    }

    /// The rendered prompt and its ids (the template writes every special token; none is added).
    public func render(messages: [JSONValue], tools: [JSONValue]?, options: ChatTemplateOptions) throws -> (prompt: String, ids: [Int]) {
        guard let template else {
            throw GenerationError.model("\(directory.path): no chat template (chat_template.jinja or tokenizer_config.json)")
        }
        let prompt = try template.render(messages: messages, tools: tools, options: options, specialTokens: specialTokens)
        return (prompt, tokenizer.encode(prompt))
    }
}

/// A one-line progress bar on stderr: files mapped and validated, then tensors checked against the config.
final class ProgressBar: @unchecked Sendable {
    private var last = -1
    private var stage: WeightStore.Progress.Stage?
    func update(_ p: WeightStore.Progress) {
        let pct = Int(p.fractionCompleted * 100)
        guard pct != last || p.stage != stage else { return }
        last = pct
        stage = p.stage
        let width = 30, filled = width * pct / 100
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let what = p.stage == .opening ? "mapping " : "checking"
        FileHandle.standardError.write(String(format: "\r%@ %@ %3d%%  %.2f/%.2f GB, %d/%d tensors", what, bar, pct,
                                              Double(p.completedBytes) / 1e9, Double(p.totalBytes) / 1e9,
                                              p.completedTensors, p.totalTensors).data(using: .utf8)!)
    }
    func done() { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
}
