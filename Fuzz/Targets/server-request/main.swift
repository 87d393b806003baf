// libFuzzer target: a request body for POST /v1/chat/completions and POST /v1/completions, read the way the
// controllers read it (FieldReader.body, then the typed request). Every failure must be an APIError.
import Foundation
@testable import OpenAIServer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    do { _ = try ChatCompletionRequest(FieldReader.body(data)) } catch is APIError {} catch { fatalError("not an APIError: \(error)") }
    do { _ = try CompletionRequest(FieldReader.body(data)) } catch is APIError {} catch { fatalError("not an APIError: \(error)") }
    return 0
}
