import ArgumentParser
import Foundation
import Kernels

@main
struct QwenKit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qwenkit",
        abstract: "Run Qwen3.5 models on the CPU.",
        subcommands: [
            GenerateCommand.self, ChatCommand.self, ServeCommand.self,
            InspectCommand.self, LogitsCommand.self, BenchCommand.self,
            TokenizeCommand.self, DetokenizeCommand.self, RenderCommand.self, QuantizeCommand.self,
        ]
    )

    /// Errors print as one `error: <what is wrong>` line, like every Unix tool.
    static var _errorPrefix: String { "error: " }

    static func main() async {
        // Activations of a prefill are megabytes per array, freed layer by layer; reusing them beats fresh
        // pages (a page fault and a kernel memset per 4 KiB) for every layer.
        keepLargeAllocationsInHeap()
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let error as CocoaError {
            exit(withError: CLIError(plainMessage(error)))
        } catch let error as NSError where error.domain == NSCocoaErrorDomain || error.domain == NSPOSIXErrorDomain {
            exit(withError: CLIError(plainMessage(error)))
        } catch {
            exit(withError: error)
        }
    }
}

/// A Foundation error as one plain line: its description and the file it is about, without the
/// `Error Domain=NSCocoaErrorDomain Code=… UserInfo={…}` dump.
func plainMessage(_ error: Error) -> String {
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return "\(error)" }
    let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    let underlying = (ns.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap {
        $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : nil
    }
    let what = underlying ?? ns.localizedDescription
    return path.map { "\($0): \(what)" } ?? what
}

/// A run-time problem with the user's input (not a usage error): printed as one `error:` line without the usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
