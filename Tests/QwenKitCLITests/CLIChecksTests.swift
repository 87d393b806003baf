import Foundation
import XCTest
@testable import qwenkit

/// Regressions for ../shared/fuzz-findings (cli-*): numbers are checked against the model and the machine
/// before any work, `--out` never replaces a file of the model, Foundation errors print as one plain line.
final class CLIChecksTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    /// cli-generate-memory-generate-threads-100000, cli-logits-memory-logits-threads-100000,
    /// cli-logits-hang-random-args (--threads 512).
    func testThreadsAreBoundedByTheCores() {
        let most = 4 * ProcessInfo.processInfo.activeProcessorCount
        for bad in [0, -1, most + 1, 512, 100_000, Int.max] {
            XCTAssertEqual(message { try CLIChecks.applyThreads(bad) },
                           "--threads \(bad): must be in 1...\(most) (4 × \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        }
        XCTAssertNil(message { try CLIChecks.applyThreads(nil) })
        XCTAssertNil(message { try CLIChecks.applyThreads(1) })
    }

    /// cli-bench-crash-bench-prompt-9223372036854775807-gen, cli-bench-hang-bench-prompt-600000-gen-0-runs-1,
    /// cli-logits-hang-logits-decode-9223372036854775807, cli-generate-wrong-output-max-tokens-int-max.
    func testContextIsCheckedWithoutWrapping() {
        let context = 262_144
        XCTAssertEqual(message { try CLIChecks.fitsContext(prompt: Int.max, extra: 1, extraOption: "--gen", context: context) },
                       "9223372036854775807 prompt tokens + --gen 1 exceed the model's context of 262144 tokens")
        XCTAssertNotNil(message { try CLIChecks.fitsContext(prompt: 600_000, extra: 0, extraOption: "--gen", context: context) })
        XCTAssertNotNil(message { try CLIChecks.fitsContext(prompt: 1, extra: Int.max, extraOption: "--decode", context: context) })
        XCTAssertNotNil(message { try CLIChecks.fitsContext(prompt: 2, extra: context - 1, extraOption: "--decode", context: context) })
        XCTAssertNil(message { try CLIChecks.fitsContext(prompt: 2, extra: context - 2, extraOption: "--decode", context: context) })
    }

    /// cli-logits-hang-logits-decode-100000: within the context, but minutes of work for a reference check.
    func testLogitsDecodeStepsAreBounded() {
        for bad in ["100000", "9223372036854775807", "-1"] {
            XCTAssertThrowsError(try LogitsCommand.parse(["--model", "m", "--ids", "1", "--decode", bad, "--out", "o"]), bad)
        }
        XCTAssertNoThrow(try LogitsCommand.parse(["--model", "m", "--ids", "1", "--decode", "4096", "--out", "o"]))
    }

    /// README "also seen": `logits --out` overwrote the model's checkpoint, also through a symlink; `--out /tmp`.
    func testOutputFileIsNeverInsideTheModel() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("qwenkit-cli-\(UUID().uuidString)")
        let model = tmp.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let weights = model.appendingPathComponent("model.safetensors")
        FileManager.default.createFile(atPath: weights.path, contents: Data([1]))
        let link = tmp.appendingPathComponent("out.safetensors")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: weights)
        let linkedModel = tmp.appendingPathComponent("model-link")
        try FileManager.default.createSymbolicLink(at: linkedModel, withDestinationURL: model)

        for out in [weights.path, link.path, model.path + "/new.safetensors", linkedModel.path + "/model.safetensors",
                    model.path + "/../model/x.safetensors"] {
            XCTAssertTrue(message { try CLIChecks.outputFile(out, modelDirectory: model.path) }?
                .contains("refusing to write inside the model directory") ?? false, out)
        }
        XCTAssertTrue(message { try CLIChecks.outputFile(weights.path, modelDirectory: linkedModel.path) }?
            .contains("refusing to write inside the model directory") ?? false)
        XCTAssertEqual(message { try CLIChecks.outputFile(tmp.path, modelDirectory: model.path) },
                       "--out \(tmp.path): is a directory; give a file name")
        XCTAssertNil(message { try CLIChecks.outputFile(tmp.appendingPathComponent("logits.safetensors").path, modelDirectory: model.path) })
        XCTAssertEqual(FileManager.default.contents(atPath: weights.path), Data([1]))
    }

    func testFoundationErrorsArePlainLines() {
        let error = CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: "/x/y",
                                                                 NSUnderlyingErrorKey: NSError(domain: NSPOSIXErrorDomain, code: Int(EACCES))])
        XCTAssertEqual(plainMessage(error), "/x/y: Permission denied")
        XCTAssertFalse(plainMessage(CocoaError(.fileReadUnknown)).contains("Domain="))
    }
}
