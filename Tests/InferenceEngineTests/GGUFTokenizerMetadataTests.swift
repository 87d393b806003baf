import Foundation
import XCTest
import GGUF
import Tokenization
@testable import InferenceEngine

/// The `tokenizer.*` metadata `qwenkit quantize` writes is the one llama.cpp's `convert_hf_to_gguf.py` writes
/// (`get_vocab_base` types, gguf-py `SpecialVocab` ids and flags), so llama.cpp treats our GGUFs' tokens alike:
/// an added token that looks special (`<|fim_prefix|>`) is a control token even when tokenizer.json says
/// `special: false`, and the padding id and add-BOS/EOS flags are there.
final class GGUFTokenizerMetadataTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// The keys, in order, of llama.cpp's GGUF of this tokenizer (bench-0.8b-Q4_K_M.gguf, converted from it).
    static let llamaCppKeys = ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                               "tokenizer.ggml.merges", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id",
                               "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token", "tokenizer.chat_template"]

    func testQwen35TokenTypesAndSpecialIDsAreLlamaCpps() throws {
        let meta = try GGUFTokenizer.metadata(directory: Self.fixtures.appendingPathComponent("tokenizer/qwen3.5"), vocabSize: 248_320)
        XCTAssertEqual(meta.map(\.0), Self.llamaCppKeys)
        let v = Dictionary(meta, uniquingKeysWith: { a, _ in a })
        guard case .array(.int32, let typeValues)? = v["tokenizer.ggml.token_type"],
              case .array(.string, let tokenValues)? = v["tokenizer.ggml.tokens"] else { return XCTFail("no token list / types") }
        let types = typeValues.map { $0.int ?? -1 }
        XCTAssertEqual(types.count, 248_320)
        // Read from llama.cpp's GGUF of this tokenizer (token_type == 3 / 4).
        let control = Array(248_044...248_057) + Array(248_060...248_065) + Array(248_070...248_076)
        let userDefined = [248_058, 248_059, 248_066, 248_067, 248_068, 248_069]   // <tool_call> … </think>
        for id in 248_060...248_063 {   // <|fim_prefix|>, <|fim_middle|>, <|fim_suffix|>, <|fim_pad|>
            XCTAssertEqual(types[id], 3, "\(tokenValues[id]): a FIM token must be a control token (3), as llama.cpp writes it")
        }
        XCTAssertEqual(types.indices.filter { types[$0] == 3 }, control)
        XCTAssertEqual(types.indices.filter { types[$0] == 4 }, userDefined)
        XCTAssertEqual(types.indices.filter { types[$0] == 5 }, Array(248_077..<248_320))
        XCTAssertEqual(types.filter { $0 == 1 }.count, 248_044)
        XCTAssertEqual(tokenValues[248_077], .string("[PAD248077]"))
        XCTAssertEqual(tokenValues[248_060], .string("<|fim_prefix|>"))
        XCTAssertEqual(v["tokenizer.ggml.eos_token_id"], .uint32(248_046))       // <|im_end|>
        XCTAssertEqual(v["tokenizer.ggml.padding_token_id"], .uint32(248_044))   // <|endoftext|>
        XCTAssertEqual(v["tokenizer.ggml.add_bos_token"], .bool(false))          // ByteLevel post-processor
        XCTAssertEqual(v["tokenizer.ggml.add_eos_token"], .bool(false))
    }

    /// Against llama.cpp's own GGUF of the benchmark model, when this machine has both (skipped elsewhere):
    /// every `tokenizer.*` key, value and the key order.
    func testEqualsLlamaCppGGUFOfTheBenchModel() throws {
        let model = URL(fileURLWithPath: "/root/benchmodels/bench-0.8b"), reference = "/root/gguf/bench-0.8b-Q4_K_M.gguf"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: reference) && FileManager.default.fileExists(atPath: model.path),
                          "needs \(reference) (llama.cpp's conversion of \(model.path))")
        let f = try GGUFFile(path: reference)
        let vocab = f.metadata["tokenizer.ggml.tokens"]?.array?.count ?? 0
        let ours = try GGUFTokenizer.metadata(directory: model, vocabSize: vocab)
        XCTAssertEqual(ours.map(\.0), f.metadataKeys.filter { $0.hasPrefix("tokenizer.") })
        for (k, value) in ours { XCTAssertTrue(f.metadata[k] == value, "\(k) differs from llama.cpp's") }
    }

    /// llama.cpp's GGUF (FIM tokens as control tokens) loads as a tokenizer giving the fixture tokenizer.json's ids.
    func testLlamaCppGGUFTokenizerGivesTokenizerJSONIds() throws {
        let reference = "/root/gguf/bench-0.8b-Q4_K_M.gguf"
        try XCTSkipUnless(FileManager.default.fileExists(atPath: reference), "needs \(reference)")
        let gguf = try GGUFTokenizer.load(GGUFFile(path: reference))
        let json = try Tokenizer.load(directory: Self.fixtures.appendingPathComponent("tokenizer/qwen3.5"))
        for t in ["<|fim_prefix|>def f(x):<|fim_suffix|>\n    return x<|fim_middle|>", "<|im_start|>user\nhi<|im_end|>\n",
                  "<think>\nok</think>\n\n<tool_call>{\"a\": 1}</tool_call>", "Hello, world! ünïcödé 漢字 🙂 12345", "<|repo_name|>x<|file_sep|>"] {
            XCTAssertEqual(gguf.encode(t), json.encode(t), t)
            XCTAssertEqual(gguf.decode(json.encode(t)), json.decode(json.encode(t)), t)
        }
    }

    /// gguf-py `SpecialVocab` precedence on a small tokenizer: tokenizer_config.json's `<kind>_token` wins over
    /// config.json's `<kind>_token_id`, which fills the kinds still unset (also from `text_config`); a BOS left
    /// unset takes CLS; merges given as pairs keep inner spaces as U+0120; an unported post-processor is refused.
    func testSpecialVocabPrecedence() throws {
        func tokenizer(post: String) -> Data {
            Data(#"""
            {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "a b": 2}, "merges": [["a", "b"], ["a ", "b"]]},
             "added_tokens": [{"id": 3, "content": "<s>", "special": true}, {"id": 4, "content": "</s>", "special": true},
                              {"id": 5, "content": "<x>", "special": false}, {"id": 6, "content": "<|x|>", "special": false}],
             "post_processor": \#(post)}
            """#.utf8)
        }
        let config = Data(#"{"cls_token": "<s>", "eos_token": {"content": "</s>"}, "add_eos_token": true}"#.utf8)
        let model = Data(#"{"eos_token_id": 5, "text_config": {"pad_token_id": 5, "unk_token_id": 3}}"#.utf8)
        let meta = try GGUFTokenizer.metadata(tokenizerJSON: tokenizer(post: "null"), tokenizerConfig: config, modelConfig: model,
                                              vocabSize: 8, chatTemplate: nil)
        let v = Dictionary(meta, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(meta.map(\.0).filter { $0.hasSuffix("_id") || $0.contains(".add_") },
                       ["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
                        "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_eos_token"])
        XCTAssertEqual(v["tokenizer.ggml.bos_token_id"], .uint32(3))
        XCTAssertEqual(v["tokenizer.ggml.eos_token_id"], .uint32(4))
        XCTAssertEqual(v["tokenizer.ggml.unknown_token_id"], .uint32(3))
        XCTAssertEqual(v["tokenizer.ggml.padding_token_id"], .uint32(5))
        XCTAssertEqual(v["tokenizer.ggml.token_type"], .array(.int32, [1, 1, 1, 3, 3, 4, 3, 5].map { .int32($0) }))
        XCTAssertEqual(v["tokenizer.ggml.merges"], .array(.string, [.string("a b"), .string("a\u{0120} b")]))
        XCTAssertThrowsError(try GGUFTokenizer.metadata(tokenizerJSON: tokenizer(post: #"{"type": "TemplateProcessing"}"#),
                                                        tokenizerConfig: nil, modelConfig: nil, chatTemplate: nil))
    }
}
