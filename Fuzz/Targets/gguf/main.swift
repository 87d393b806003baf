// libFuzzer target: a GGUF file opened the way `--model x.gguf` opens it: header, metadata and tensor table
// validated (`GGUFFile`), every tensor's first block read through its plain dequantiser (bounds: ASan), then the
// model config (`Qwen35Config.load(gguf:)`) and the tokenizer rebuilt from `tokenizer.ggml.*` (`GGUFTokenizer`,
// compiled into this harness from Sources/InferenceEngine), which then encodes and decodes a short text. The
// reader maps a file, so the input is written to one first (in /dev/shm when it exists).
import Foundation
import GGUF
import LanguageModels
import TensorCore

let path = scratchPath(".gguf")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: start, count: count))
    guard let file = try? GGUFFile(path: path) else { return 0 }
    // Every tensor was checked against the file at open: its first block and last byte are inside the mapping.
    var block = [Float](repeating: 0, count: 256)   // [blockElements ≤ 256]
    for t in file.tensors where t.byteCount > 0 {
        let view = file.weightTensor(t)
        block.withUnsafeMutableBufferPointer { dequantize(t.format, view.data, $0.baseAddress!, count: t.format.blockElements) }
        _ = view.data.load(fromByteOffset: t.byteCount - 1, as: UInt8.self)
    }
    _ = try? Qwen35Config.load(gguf: file)
    if let tokenizer = try? GGUFTokenizer.load(file) {
        let ids = tokenizer.encode("Hello, world! 12345 <|im_end|> héllo\n\n")
        _ = tokenizer.decode(ids)
        _ = tokenizer.decode([0, tokenizer.vocabSize - 1])
    }
    return 0
}
