import Foundation
import XCTest
import TensorCore
@testable import SafeTensors

/// Regressions for ../shared/fuzz-findings: a checkpoint that is not a regular file is refused before it is
/// opened for reading (a FIFO without a writer used to block `open` forever), and an integer tensor is never
/// taken as a weight.
final class SpecialFileTests: TempDirTestCase {
    /// safetensors-inspect-hang-model-safetensors-is-a-fifo-no-writ
    func testFIFOCheckpointIsRefusedAtOnce() throws {
        let path = tmp.appendingPathComponent("model.safetensors").path
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let start = Date()
        assertThrows(try WeightStore(directory: tmp), mentioning: [path, "is not a regular file (a FIFO)"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    }

    func testDirectoryAndDeviceAreRefused() throws {
        try FileManager.default.createDirectory(at: tmp.appendingPathComponent("model.safetensors"), withIntermediateDirectories: false)
        assertThrows(try WeightStore(directory: tmp), mentioning: ["model.safetensors", "is not a regular file (a directory)"])
        assertThrows(try SafeTensorsFile(path: "/dev/zero", name: "zero"), mentioning: ["/dev/zero", "is not a regular file (a character device)"])
        assertThrows(try ShardIndex(path: "/dev/null"), mentioning: ["/dev/null", "is not a regular file"])
    }

    /// README "also seen": I64 weights were accepted and read as floats.
    func testIntegerTensorIsNotAWeight() throws {
        try write(SafeTensorsTestWriter.file([.i64("model.norm.weight", [1, 2, 3], shape: [3])]), "model.safetensors")
        let store = try WeightStore(directory: tmp)
        assertThrows(try store.take("model.norm.weight", shape: [3]), mentioning: ["model.norm.weight", "has dtype I64", "expected BF16/F16/F32"])
        XCTAssertNoThrow(try store.take("model.norm.weight", shape: [3], dtypes: [.i64]))
    }
}
