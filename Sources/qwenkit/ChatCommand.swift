import ArgumentParser

// PLACEHOLDER: replaced by the real command.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chat", abstract: "Interactive multi-turn chat.")
    func run() throws { throw ValidationError("chat: not implemented yet") }
}
