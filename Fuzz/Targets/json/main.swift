// libFuzzer target: JSONValue.parse (every file and request body goes through it). Beyond "no crash", a
// parsed value must survive a round trip: parse(serialized(v)) == v.
import Foundation
import JSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let value = try? JSONValue.parse(data) else { return 0 }
    let text = value.serialized()
    guard let again = try? JSONValue.parse(text) else { fatalError("serialized form does not parse: \(text)") }
    if again != value { fatalError("round trip changed the value: \(text)") }
    return 0
}
