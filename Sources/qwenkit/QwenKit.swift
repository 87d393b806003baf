import ArgumentParser

@main
struct QwenKit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qwenkit",
        abstract: "Run Qwen3.5 models on the CPU.",
        subcommands: [
            GenerateCommand.self, ChatCommand.self,
            InspectCommand.self, LogitsCommand.self, BenchCommand.self,
            TokenizeCommand.self, DetokenizeCommand.self, RenderCommand.self,
        ]
    )

    /// Errors print as one `error: <what is wrong>` line, like every Unix tool.
    static var _errorPrefix: String { "error: " }
}
