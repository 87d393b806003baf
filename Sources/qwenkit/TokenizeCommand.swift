import ArgumentParser
import Foundation
import JSON
import Tokenization

/// `qwenkit tokenize`: text → JSON array of ids, so any script can check the tokenizer from outside.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode text to token ids (a JSON array).",
        discussion: "Reads --text, --file, or stdin. DIR may hold only the tokenizer files.")

    @Option(name: .long, help: "Model directory with tokenizer.json.") var model: String
    @Option(name: .long, help: "The text to encode.") var text: String?
    @Option(name: .long, help: "A UTF-8 file to encode.") var file: String?
    @Flag(name: .long, help: "Encode special tokens (<|im_start|>, …) as plain text.") var splitSpecial = false
    @Flag(name: .long, help: "Read one JSON string per stdin line, print one id array per line.") var jsonl = false
    @Flag(name: .long, help: "Print only the number of tokens.") var count = false

    func validate() throws {
        if text != nil && file != nil { throw ValidationError("give --text or --file, not both") }
        if jsonl && (text != nil || file != nil) { throw ValidationError("--jsonl reads stdin; drop --text/--file") }
    }

    func run() throws {
        let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: model))
        let out = FileHandle.standardOutput
        if jsonl {
            var lineNumber = 0
            while let line = readLine(strippingNewline: true) {
                lineNumber += 1
                let value: JSONValue
                do { value = try JSONValue.parse(line) } catch { throw CLIError("stdin line \(lineNumber): \(error)") }
                guard let s = value.stringValue else {
                    throw CLIError("stdin line \(lineNumber): expected a JSON string, found \(value.typeName)")
                }
                let ids = tokenizer.encode(s, splitSpecialTokens: splitSpecial)
                out.write(Data(((count ? "\(ids.count)" : Self.json(ids)) + "\n").utf8))
            }
            return
        }
        let input: String
        if let text {
            input = text
        } else {
            let data: Data
            let name = file ?? "stdin"
            if let file {
                do { data = try InputFile.read(file) } catch { throw CLIError("\(error)") }
            } else {
                data = FileHandle.standardInput.readDataToEndOfFile()
            }
            guard let s = String(data: data, encoding: .utf8) else { throw TokenizerError.invalidUTF8(name) }
            input = s
        }
        let ids = tokenizer.encode(input, splitSpecialTokens: splitSpecial)
        out.write(Data(((count ? "\(ids.count)" : Self.json(ids)) + "\n").utf8))
    }

    static func json(_ ids: [Int]) -> String { "[" + ids.map(String.init).joined(separator: ", ") + "]" }
}
