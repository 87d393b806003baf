import ArgumentParser

// PLACEHOLDER: replaced by the real command.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure prefill and decode speed.")
    func run() throws { throw ValidationError("bench: not implemented yet") }
}
