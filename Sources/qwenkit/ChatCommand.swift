import ArgumentParser
import Foundation
import InferenceEngine
import Templating
import TensorCore
import Tokenization

/// Set by SIGINT; the generation loop checks it between tokens.
nonisolated(unsafe) var interruptRequested: sig_atomic_t = 0

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Interactive multi-turn chat in the terminal.",
        discussion: "Commands: /reset (new conversation), /think on|off, /quit. Ctrl-C stops the current answer; Ctrl-D leaves.")

    @Option(help: "Model directory, or a .gguf file.") var model: String
    @OptionGroup var sampling: SamplingOptions
    @Option(name: .customLong("max-tokens"), help: "Most tokens per answer.") var maxTokens = 1024
    @Flag(name: .customLong("show-thinking"), help: "Show the model's reasoning (dimmed).") var showThinking = false
    @Option(help: "System prompt.") var system: String?
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("kv-type"), help: KVOptionHelp.kvType) var kvType = KVType.f32

    func run() throws {
        try CLIChecks.applyThreads(threads)
        let bundle = try ModelBundle(directory: URL(fileURLWithPath: model), showProgress: true, kvType: kvType)
        eprint(bundle.summary)
        let parameters = sampling.overrides.applied(to: bundle.generationConfig.defaultSampling)
        try parameters.validate(vocabSize: bundle.model.vocabSize)   // a bad flag fails now, not at the first message
        signal(SIGINT) { _ in interruptRequested = 1 }
        let tty = isatty(1) != 0
        var thinking = true
        var history: [JSONValue] = []
        if let system { history.append(.object([("role", .string("system")), ("content", .string(system))])) }
        let initial = history
        print("Type a message (/reset, /think on|off, /quit).")
        while true {
            print(tty ? "\u{1B}[1m> \u{1B}[0m" : "> ", terminator: "")
            fflush(stdout)
            guard let line = readLine() else { print(""); return }
            let input = line.trimmingCharacters(in: .whitespaces)
            switch input {
            case "": continue
            case "/quit", "/exit": return
            case "/reset": history = initial; print("(conversation reset)"); continue
            case "/think on": thinking = true; print("(thinking on)"); continue
            case "/think off": thinking = false; print("(thinking off)"); continue
            default: break
            }
            history.append(.object([("role", .string("user")), ("content", .string(input))]))
            var options = ChatTemplateOptions()
            options.addGenerationPrompt = true
            options.enableThinking = thinking
            let rendered: (prompt: String, ids: [Int])
            do { rendered = try bundle.renderChat(messages: history, tools: nil, options: options) } catch {
                eprint("error: \(error)"); history.removeLast(); continue
            }
            var request = GenerationRequest(promptIDs: rendered.ids)
            request.sampling = parameters
            request.maxTokens = maxTokens
            request.stopTokenIDs = bundle.eosTokenIDs
            request.startsInReasoning = ChatFormatter.startsInReasoning(rendered.prompt)
            request.replyFormat = .chat
            var generator: Generator<StreamingDetokenizer>
            do {
                generator = try Generator(model: bundle.model, request: request,
                                          decoder: StreamingDetokenizer(tokenizer: bundle.tokenizer))
            } catch { eprint("error: \(error)"); history.removeLast(); continue }
            interruptRequested = 0
            var answer = ""
            var placeholder = false   // "thinking…" shown while reasoning is hidden, erased when the answer starts
            while let event = generator.next() {
                if interruptRequested != 0 { print(tty ? "\u{1B}[0m [stopped]" : " [stopped]"); break }
                guard case .delta(let d) = event else { continue }
                let content = d.content, reasoning = d.reasoning
                if showThinking && !reasoning.isEmpty { print(tty ? "\u{1B}[2m\(reasoning)\u{1B}[0m" : reasoning, terminator: "") }
                if !showThinking && tty && !reasoning.isEmpty && !placeholder && answer.isEmpty {
                    print("\u{1B}[2mthinking…\u{1B}[0m", terminator: ""); placeholder = true
                }
                if placeholder && !content.isEmpty { print("\r\u{1B}[K", terminator: ""); placeholder = false }
                if !content.isEmpty { print(content, terminator: "") }
                answer += content
                fflush(stdout)
            }
            print("")
            history.append(.object([("role", .string("assistant")), ("content", .string(answer))]))
        }
    }
}
