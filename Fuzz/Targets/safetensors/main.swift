// libFuzzer target: a safetensors file (8-byte length, JSON header, data) opened and validated the way a
// checkpoint is. The reader maps a file, so the input is written to one first (in /dev/shm when it exists).
import Foundation
@testable import SafeTensors

let path = scratchPath(".safetensors")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: start, count: count))
    if let file = try? SafeTensorsFile(path: path, name: "model.safetensors") {
        // Every record was checked against the file at open: touching each tensor's first and last byte
        // must stay inside the mapping (ASan would report it).
        for record in file.tensors where !record.dataRange.isEmpty {
            let p = file.pointer(to: record)
            _ = p.load(fromByteOffset: 0, as: UInt8.self)
            _ = p.load(fromByteOffset: record.dataRange.count - 1, as: UInt8.self)
        }
    }
    return 0
}
