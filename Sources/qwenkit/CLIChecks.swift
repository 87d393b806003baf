import ArgumentParser
import Foundation
import LanguageModels
import TensorCore

/// Command-line numbers and paths, checked before any work: a number that wraps past a check, a thread count
/// that exhausts memory or a decode that outlives the context must be a one-line error, not a crash or a hang.
enum CLIChecks {
    /// More threads than this only contend for the cores (100000 ran out of memory creating them).
    static var maxThreads: Int { 4 * ProcessInfo.processInfo.activeProcessorCount }

    /// Installs the `--threads` pool after checking 1...4 × cores.
    static func applyThreads(_ threads: Int?) throws {
        guard let threads else { return }
        guard (1...maxThreads).contains(threads) else {
            throw CLIError("--threads \(threads): must be in 1...\(maxThreads) (4 × \(ProcessInfo.processInfo.activeProcessorCount) cores)")
        }
        ThreadPool.shared = ThreadPool(threads: threads)
    }

    /// `prompt` tokens plus `extra` more (decode steps) must fit the model's context; compared by
    /// subtraction, so `Int.max` cannot wrap past it.
    static func fitsContext(prompt: Int, extra: Int, extraOption: String, context: Int) throws {
        guard prompt <= context, extra <= context - prompt else {
            throw CLIError("\(prompt) prompt tokens + \(extraOption) \(extra) exceed the model's context of \(context) tokens")
        }
    }

    /// With a `budget` (> 0), `prompt` + `extra` tokens of context must fit it (checked before any compute).
    static func fitsMemory(_ plan: MemoryPlan, prompt: Int, extra: Int, extraOption: String, budget: Int) throws {
        guard budget > 0 else { return }
        let tokens = prompt.addingReportingOverflow(extra)
        guard tokens.overflow || plan.bytes(tokens: tokens.partialValue) > budget else { return }
        throw CLIError("\(prompt) prompt tokens + \(extraOption) \(extra) need "
                       + (tokens.overflow ? "more" : "\(plan.bytes(tokens: tokens.partialValue))")
                       + " bytes of KV cache and state; --kv-memory \(budget) holds \(plan.maxTokens(budget: budget)) tokens of context")
    }

    /// `--out` must not replace a file of the model it was computed from: both paths are compared with
    /// symlinks resolved (a link to the checkpoint counts), and a directory is refused by name.
    static func outputFile(_ out: String, modelDirectory: String) throws {
        let outURL = URL(fileURLWithPath: out).standardizedFileURL
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: outURL.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIError("--out \(out): is a directory; give a file name")
        }
        // The file itself when it exists (it may be a link), else its directory (the name is new).
        let resolved = FileManager.default.fileExists(atPath: outURL.path)
            ? outURL.resolvingSymlinksInPath()
            : outURL.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(outURL.lastPathComponent)
        let modelPath = URL(fileURLWithPath: modelDirectory).standardizedFileURL.resolvingSymlinksInPath().path
        let prefix = modelPath.hasSuffix("/") ? modelPath : modelPath + "/"
        if resolved.path.hasPrefix(prefix) {
            throw CLIError("--out \(out): refusing to write inside the model directory \(modelPath)")
        }
    }
}
