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

/// A run-time problem with the user's input (not a usage error): printed as one `error:` line without the usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
