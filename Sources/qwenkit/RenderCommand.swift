import ArgumentParser
import Foundation
import InferenceEngine
import Templating

/// `qwenkit render`: a chat file through the model's chat template, printed exactly (nothing added).
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Render a chat through the chat template.",
        discussion: "FILE holds {\"messages\": [...], \"tools\": [...]|null, \"options\": {...}}. DIR may hold only tokenizer files.")

    @Option(name: .long, help: "Model directory (tokenizer.json + chat template).") var model: String
    @Option(name: .long, help: "The chat as JSON.") var chat: String
    @Option(name: .long, help: "A Jinja template file to use instead of the model's.") var template: String?
    @Flag(name: .long, help: "Print the prompt's token ids (a JSON array) instead of the text.") var ids = false

    func run() throws {
        let formatter = try ChatFormatter(directory: URL(fileURLWithPath: model), templatePath: template)
        let request = try ChatRequest(json: try readJSON(chat), source: chat)
        let (prompt, promptIDs) = try formatter.render(messages: request.messages, tools: request.tools, options: request.options)
        if ids {
            print(TokenizeCommand.json(promptIDs))
        } else {
            FileHandle.standardOutput.write(Data(prompt.utf8))
        }
    }
}

/// A JSON file, with errors that name it.
func readJSON(_ path: String) throws -> JSONValue {
    let data: Data
    do { data = try InputFile.read(path) } catch { throw CLIError("\(error)") }
    do { return try JSONValue.parse(data) } catch {
        throw CLIError("\(path): \(error)")
    }
}
