import ArgumentParser

// PLACEHOLDER: replaced by the real command.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Encode text to token ids.")
    func run() throws { throw ValidationError("tokenize: not implemented yet") }
}
