import ArgumentParser
import Foundation
import Tokenization

/// `qwenkit detokenize`: ids → text, exactly as `decode` gives it (no newline added).
struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detokenize", abstract: "Decode token ids to text.")

    @Option(name: .long, help: "Model directory with tokenizer.json.") var model: String
    @Option(name: .long, help: "Comma-separated ids, e.g. 9707,11,1879 (or a JSON array).") var ids: String
    @Flag(name: .long, help: "Drop special tokens (<|im_start|>, <|im_end|>, …).") var skipSpecial = false

    func run() throws {
        let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: model))
        let parts = ids.trimmingCharacters(in: CharacterSet(charactersIn: "[] \n"))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var list: [Int] = []
        for p in parts {
            guard let id = Int(p) else { throw ValidationError("--ids: '\(p)' is not an integer") }
            guard id >= 0, id < tokenizer.vocabSize else {
                throw CLIError("--ids: \(id) is outside the vocabulary (0..<\(tokenizer.vocabSize))")
            }
            list.append(id)
        }
        FileHandle.standardOutput.write(Data(tokenizer.decode(list, skipSpecialTokens: skipSpecial).utf8))
    }
}
