import ArgumentParser
import Foundation
import Grammar
import InferenceEngine
import JSON
import LanguageModels
import Templating
import TensorCore
import Tokenization

/// Sampling flags shared by `generate` and `chat`; unset flags keep the model's generation_config.json defaults.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Temperature (0 = greedy).") var temperature: Float?
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = off).") var topK: Int?
    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass in (0, 1].") var topP: Float?
    @Option(name: .customLong("min-p"), help: "Drop tokens below min-p × p(top).") var minP: Float?
    @Option(name: .customLong("repetition-penalty"), help: "> 1 discourages repeats (1 = off).") var repetitionPenalty: Float?
    @Option(name: .customLong("presence-penalty"), help: "OpenAI presence penalty in [-2, 2].") var presencePenalty: Float?
    @Option(name: .customLong("frequency-penalty"), help: "OpenAI frequency penalty in [-2, 2].") var frequencyPenalty: Float?
    @Option(help: "Random seed (same seed + same input = same output).") var seed: UInt64?
    @Option(name: .customLong("logit-bias"), help: "ID=BIAS added to a token's logit (repeatable), e.g. 151643=-100.")
    var logitBias: [String] = []

    /// Checked by ArgumentParser right after parsing, before any model is loaded.
    func validate() throws {
        for entry in logitBias where Self.parseBias(entry) == nil {
            throw ValidationError("--logit-bias \(entry): expected TOKEN_ID=BIAS with a finite bias, e.g. 151643=-100")
        }
    }

    static func parseBias(_ entry: String) -> (id: Int, bias: Float)? {
        let parts = entry.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let id = Int(parts[0]), let bias = Float(parts[1]), bias.isFinite else { return nil }
        return (id, bias)
    }

    /// The flags as one layer over the model's defaults.
    var overrides: SamplingOverrides {
        var o = SamplingOverrides()
        (o.temperature, o.topK, o.topP, o.minP) = (temperature, topK, topP, minP)
        (o.repetitionPenalty, o.presencePenalty, o.frequencyPenalty, o.seed) =
            (repetitionPenalty, presencePenalty, frequencyPenalty, seed)
        for case let (id, bias)? in logitBias.map(Self.parseBias) { o.logitBias[id] = bias }
        return o
    }
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a prompt (raw completion) or a chat.",
        discussion: "Streams the answer to stdout and statistics to stderr; --json prints one object when done.")

    @Option(help: "Model directory, or a .gguf file.") var model: String
    @Option(help: "Prompt text (default: read stdin).") var prompt: String?
    @Flag(help: "Send the prompt as one user message through the chat template.") var chat = false
    @Option(name: .customLong("chat-file"), help: "A conversation: {\"messages\": [...], \"tools\": [...], \"options\": {...}}.")
    var chatFile: String?
    @OptionGroup var sampling: SamplingOptions
    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.") var maxTokens = 256
    @Option(help: "Stop string (repeatable).") var stop: [String] = []
    @Flag(name: .customLong("no-think"), help: "Turn thinking off (enable_thinking = false).") var noThink = false
    @Flag(help: "Print one JSON object when done instead of streaming.") var json = false
    @Option(help: "With --json: log-probability of each generated token and its N most likely alternatives.")
    var logprobs: Int?
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("kv-type"), help: KVOptionHelp.kvType) var kvType = KVType.f32
    @Option(name: .customLong("kv-memory"), help: "Refuse, before any compute, a prompt + --max-tokens whose KV cache and state need more than this (4GiB, 512MiB, 0.25 of RAM); 0 = no limit.")
    var kvMemory = "0"
    @Option(name: .customLong("json-schema"), help: "Constrain the answer to this JSON Schema file (strict).")
    var jsonSchema: String?
    @Option(help: "Constrain the answer to a built-in grammar: json (any JSON object).") var grammar: String?
    @Option(name: .customLong("thinking-budget"), help: "Force </think> after this many reasoning tokens.")
    var thinkingBudget: Int?

    func validate() throws {
        if logprobs != nil && !json { throw ValidationError("--logprobs is reported in the --json output: add --json") }
        if let logprobs, logprobs < 0 { throw ValidationError("--logprobs \(logprobs): must be ≥ 0") }
        _ = try parseMemory(kvMemory, "--kv-memory")
    }

    /// `--json-schema FILE` or `--grammar json`.
    func answerGrammar() throws -> Grammar? {
        if let path = jsonSchema {
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("--json-schema: cannot read \(path)") }
            return try JSONSchemaCompiler.grammar(try JSONValue.parse(data), strict: true)
        }
        switch grammar {
        case nil: return nil
        case "json"?: return try Grammar.jsonObject()
        case let other?: throw ValidationError("--grammar \(other): the built-in grammars are: json")
        }
    }

    func run() throws {
        try CLIChecks.applyThreads(threads)
        let bundle = try ModelBundle(directory: URL(fileURLWithPath: model), showProgress: !json, kvType: kvType)
        if !json { eprint(bundle.summary) }

        // The prompt: raw text, one user message, or a whole conversation.
        var promptIDs: [Int]
        var startsInReasoning = false
        var chatTools: [JSONValue] = []
        if let chatFile {
            let request = try ChatRequest(json: try readJSON(chatFile), source: chatFile)
            var options = request.options
            if noThink { options.enableThinking = false }
            if options.addGenerationPrompt == false { options.addGenerationPrompt = true }
            let r = try bundle.renderChat(messages: request.messages, tools: request.tools, options: options)
            promptIDs = r.ids
            startsInReasoning = ChatFormatter.startsInReasoning(r.prompt)
            chatTools = request.tools ?? []
        } else {
            let text = try prompt ?? readStdin()
            if chat {
                var options = ChatTemplateOptions()
                options.addGenerationPrompt = true
                if noThink { options.enableThinking = false }
                let message = JSONValue.object([("role", .string("user")), ("content", .string(text))])
                let r = try bundle.renderChat(messages: [message], tools: nil, options: options)
                promptIDs = r.ids
                startsInReasoning = ChatFormatter.startsInReasoning(r.prompt)
            } else {
                promptIDs = bundle.tokenizer.encode(text)
            }
        }

        var request = GenerationRequest(promptIDs: promptIDs)
        request.sampling = sampling.overrides.applied(to: bundle.generationConfig.defaultSampling)
        request.topLogprobs = logprobs
        request.maxTokens = maxTokens
        request.stopStrings = stop
        request.stopTokenIDs = bundle.eosTokenIDs
        request.startsInReasoning = startsInReasoning
        request.replyFormat = chat || chatFile != nil ? .chat : .raw
        request.tools = chatTools.compactMap(ToolSpec.init(openAITool:))
        if let g = try answerGrammar() {
            request.constraint = TokenConstraint(CompiledGrammar(g, vocabulary: Vocabulary(tokenizer: bundle.tokenizer)))
        }
        request.thinkingBudget = thinkingBudget
        request.thinkEndTokenID = bundle.thinkEndTokenID
        try CLIChecks.fitsMemory(MemoryPlan(bundle.model.makeState()), prompt: promptIDs.count, extra: maxTokens,
                                 extraOption: "--max-tokens", budget: try parseMemory(kvMemory, "--kv-memory"))
        var generator = try Generator(model: bundle.model, request: request,
                                      decoder: StreamingDetokenizer(tokenizer: bundle.tokenizer, skipSpecialTokens: false))

        var text = "", reasoning = "", ids: [Int] = [], chosen: [TokenLogprob] = []
        var calls = GenerationDelta()
        var finish = FinishReason.length, usage = Usage(promptTokens: promptIDs.count, completionTokens: 0)
        var timing = GenerationTiming(prefillSeconds: 0, decodeSeconds: 0)
        let dim = isatty(2) != 0
        while let event = generator.next() {
            switch event {
            case .delta(let d):
                let content = d.content, r = d.reasoning
                text += content; reasoning += r; ids += d.tokenIDs; chosen += d.logprobs
                calls.append(GenerationDelta(toolCalls: d.toolCalls))
                if !json {
                    if !r.isEmpty { FileHandle.standardError.write(Data((dim ? "\u{1B}[2m\(r)\u{1B}[0m" : r).utf8)) }
                    if !content.isEmpty { FileHandle.standardOutput.write(Data(content.utf8)) }
                }
            case .finished(let f, let u, let t):
                finish = f; usage = u; timing = t
            }
        }
        if json {
            let out = GenerateResult(text: text, reasoning: startsInReasoning ? reasoning : nil, token_ids: ids,
                                     finish_reason: finish.rawValue,
                                     usage: .init(prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens),
                                     logprobs: logprobs == nil ? nil : chosen.map { .init($0, bundle.tokenizer) },
                                     tool_calls: calls.toolCalls.isEmpty ? nil : calls.toolCalls.map {
                                         .init(id: $0.id ?? "", name: $0.name ?? "", arguments: $0.arguments)
                                     })
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(out), as: UTF8.self))
        } else {
            print("")
            if !reasoning.isEmpty { eprint("") }   // end the reasoning line before the statistics
            let decoded = max(0, usage.completionTokens - 1)
            eprint(String(format: "prompt %d tokens, prefill %.1f tok/s; generated %d tokens, decode %.1f tok/s; finish %@",
                          usage.promptTokens, Double(usage.promptTokens) / max(timing.prefillSeconds, 1e-9),
                          usage.completionTokens, Double(decoded) / max(timing.decodeSeconds, 1e-9), finish.rawValue))
        }
    }
}

/// `--json` output of `generate`.
struct GenerateResult: Encodable {
    struct UsageJSON: Encodable { let prompt_tokens: Int; let completion_tokens: Int }
    let text: String
    let reasoning: String?
    let token_ids: [Int]
    let finish_reason: String
    let usage: UsageJSON
    let logprobs: [LogprobJSON]?
    /// Parsed Qwen3.5 tool calls of a chat reply (arguments as JSON text, as OpenAI returns them).
    let tool_calls: [ToolCallJSON]?
    struct ToolCallJSON: Encodable { let id: String; let name: String; let arguments: String }

    /// OpenAI's shape: the token's text, its id, its log-probability and the top alternatives.
    struct LogprobJSON: Encodable {
        struct Alternative: Encodable { let token: String; let id: Int; let logprob: Float }
        let token: String
        let id: Int
        let logprob: Float
        let top_logprobs: [Alternative]
        init(_ lp: TokenLogprob, _ tokenizer: Tokenizer) {
            token = tokenizer.decode([lp.id]); id = lp.id; logprob = lp.logprob
            top_logprobs = lp.top.map { Alternative(token: tokenizer.decode([$0.id]), id: $0.id, logprob: $0.logprob) }
        }
    }
}

func eprint(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

func readStdin() throws -> String {
    let data = FileHandle.standardInput.readDataToEndOfFile()
    guard let s = String(data: data, encoding: .utf8) else { throw CLIError("stdin is not valid UTF-8") }
    return s
}
