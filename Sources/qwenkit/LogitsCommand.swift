import ArgumentParser

// PLACEHOLDER: replaced by the real command.
struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logits", abstract: "Run a forward pass and write logits.")
    func run() throws { throw ValidationError("logits: not implemented yet") }
}
