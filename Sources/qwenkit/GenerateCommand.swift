import ArgumentParser

// PLACEHOLDER: replaced by the real command.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Generate text from a prompt or a chat.")
    func run() throws { throw ValidationError("generate: not implemented yet") }
}
