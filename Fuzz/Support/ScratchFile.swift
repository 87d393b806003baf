import Foundation

/// A per-process file for harnesses whose parser reads a path (the safetensors reader maps a file): in
/// /dev/shm when it exists, so each run writes to memory.
func scratchPath(_ suffix: String) -> String {
    (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()) + "/qwenkit-fuzz-\(getpid())\(suffix)"
}
