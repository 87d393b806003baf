import Foundation
@testable import Tokenization

/// Paths of the copied fixtures (Tests/Fixtures, see its README) and the real Qwen3.5 tokenizer, loaded once.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let qwen35Dir = root.appendingPathComponent("tokenizer/qwen3.5")
    static let qwen35: Tokenizer = try! Tokenizer.load(directory: qwen35Dir)

    struct Case: Decodable {
        let id: String
        let category: String
        let text: String
        let ids: [Int]
        let tokens: [String]
        let decoded: String
        let ids_split_special: [Int]?
        let decoded_skip_special: String?
    }
    struct Cases: Decodable { let cases: [Case] }
    static let cases: [Case] = try! JSONDecoder().decode(Cases.self, from: Data(contentsOf: root.appendingPathComponent("tokenizer/cases.json"))).cases

    struct ChatCase: Decodable {
        let id: String
        let rendered: String?
        let ids: [Int]?
    }
    struct ChatCases: Decodable { let cases: [ChatCase] }
    static let chatCases: [ChatCase] = try! JSONDecoder().decode(ChatCases.self, from: Data(contentsOf: root.appendingPathComponent("tokenizer/chat.json"))).cases
}
