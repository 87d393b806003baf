// libFuzzer target: model.safetensors.index.json (which shard holds each tensor) read into a ShardIndex.
import Foundation
@testable import SafeTensors

let path = scratchPath(".index.json")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: start, count: count))
    _ = try? ShardIndex(path: path)
    return 0
}
