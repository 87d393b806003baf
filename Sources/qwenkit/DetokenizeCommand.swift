import ArgumentParser

// PLACEHOLDER: replaced by the real command.
struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detokenize", abstract: "Decode token ids to text.")
    func run() throws { throw ValidationError("detokenize: not implemented yet") }
}
