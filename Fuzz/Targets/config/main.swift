// libFuzzer target: a model's config.json read into Qwen35Config (sizes, layer schedule, rope, MoE).
import Foundation
import LanguageModels

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    _ = try? Qwen35Config.load(data: Data(bytes: start, count: count), source: "config.json")
    return 0
}
