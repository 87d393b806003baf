import ArgumentParser

// PLACEHOLDER: replaced by the real command.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "render", abstract: "Render a chat through the chat template.")
    func run() throws { throw ValidationError("render: not implemented yet") }
}
