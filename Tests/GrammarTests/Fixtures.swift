import Foundation
import Grammar
import Tokenization

/// The real Qwen3.5 tokenizer (Tests/Fixtures) as a grammar vocabulary, loaded once.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let tokenizer: Tokenizer = try! Tokenizer.load(directory: root.appendingPathComponent("tokenizer/qwen3.5"))
    /// Special tokens have no bytes (never allowed by a grammar), as the engine builds it.
    static let vocabulary: Vocabulary = Vocabulary(tokens: (0..<tokenizer.vocabSize).map {
        tokenizer.isSpecial($0) ? [] : tokenizer.bytes([$0])
    })
}
