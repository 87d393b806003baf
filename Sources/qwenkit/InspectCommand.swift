import ArgumentParser

// PLACEHOLDER: replaced by the real command.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Describe a checkpoint.")
    func run() throws { throw ValidationError("inspect: not implemented yet") }
}
