// libFuzzer target: tokenizer.json (the input) loaded; when it loads, a fixed text with special tokens is
// encoded and decoded again, and a few ids at the edges of the vocabulary are decoded.
import Foundation
import Tokenization

let text = "Hello, world! <|im_start|>user\n naïve café 123 😀\t\n<|im_end|>"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let tokenizer = try? Tokenizer(tokenizerJSON: data) else { return 0 }
    let ids = tokenizer.encode(text) + tokenizer.encode(text, splitSpecialTokens: true)
    _ = tokenizer.decode(ids)
    _ = tokenizer.decode(ids, skipSpecialTokens: true)
    _ = tokenizer.decode([0, 1, -1, Int.max, Int.min, 151_643, 1 << 31])
    return 0
}
