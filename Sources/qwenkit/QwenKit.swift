import ArgumentParser
import Kernels

@main
struct QwenKit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qwenkit",
        abstract: "Run Qwen3.5 models on the CPU.",
        subcommands: [
            GenerateCommand.self, ChatCommand.self, ServeCommand.self,
            InspectCommand.self, LogitsCommand.self, BenchCommand.self,
            TokenizeCommand.self, DetokenizeCommand.self, RenderCommand.self, QuantizeCommand.self,
        ]
    )

    /// Errors print as one `error: <what is wrong>` line, like every Unix tool.
    static var _errorPrefix: String { "error: " }

    static func main() async {
        // Activations of a prefill are megabytes per array, freed layer by layer; reusing them beats fresh
        // pages (a page fault and a kernel memset per 4 KiB) for every layer.
        keepLargeAllocationsInHeap()
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// A run-time problem with the user's input (not a usage error): printed as one `error:` line without the usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
