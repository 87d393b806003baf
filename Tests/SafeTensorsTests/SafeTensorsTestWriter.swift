import Foundation
import XCTest
import TensorCore

/// A tiny safetensors writer for tests: well-formed files from tensors, or hand-made headers for bad-input
/// cases. Written independently of the reader so that a reader bug cannot hide in a shared helper.
struct TestTensor {
    var name: String
    var dtype: String
    var shape: [Int]
    var data: [UInt8]

    static func f32(_ name: String, _ values: [Float], shape: [Int]) -> TestTensor {
        TestTensor(name: name, dtype: "F32", shape: shape, data: values.flatMap { le($0.bitPattern) })
    }
    static func bf16(_ name: String, _ values: [Float], shape: [Int]) -> TestTensor {
        TestTensor(name: name, dtype: "BF16", shape: shape, data: values.flatMap { le(floatToBF16($0)) })
    }
    static func f16(_ name: String, _ values: [Float], shape: [Int]) -> TestTensor {
        TestTensor(name: name, dtype: "F16", shape: shape, data: values.flatMap { le(Float16($0).bitPattern) })
    }
    static func i64(_ name: String, _ values: [Int64], shape: [Int]) -> TestTensor {
        TestTensor(name: name, dtype: "I64", shape: shape, data: values.flatMap { le(UInt64(bitPattern: $0)) })
    }
}

func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.littleEndian) { Array($0) }
}

enum SafeTensorsTestWriter {
    /// The header JSON for `tensors` laid out back to back (in the given order), padded with spaces to a
    /// multiple of `align` like the reference writer.
    static func header(_ tensors: [TestTensor], metadata: [String: String]? = ["format": "pt"], align: Int = 8) -> String {
        var parts: [String] = []
        if let metadata {
            let m = metadata.sorted { $0.key < $1.key }.map { "\(quote($0.key)):\(quote($0.value))" }
            parts.append("\"__metadata__\":{\(m.joined(separator: ","))}")
        }
        var offset = 0
        for t in tensors {
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(quote(t.name)):{\"dtype\":\(quote(t.dtype)),\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.data.count)]}")
            offset += t.data.count
        }
        var h = "{" + parts.joined(separator: ",") + "}"
        while h.utf8.count % align != 0 { h += " " }
        return h
    }

    /// A complete file from a header string and a data section.
    static func file(header: String, data: [UInt8], declaredHeaderLength: UInt64? = nil) -> Data {
        let h = Array(header.utf8)
        var out = Data(le(declaredHeaderLength ?? UInt64(h.count)))
        out.append(contentsOf: h)
        out.append(contentsOf: data)
        return out
    }

    static func file(_ tensors: [TestTensor], align: Int = 8) -> Data {
        file(header: header(tensors, align: align), data: tensors.flatMap(\.data))
    }

    /// `model.safetensors.index.json` for `shards` (file name → tensor names).
    static func index(_ weightMap: [(tensor: String, file: String)], totalSize: Int = 0) -> Data {
        let pairs = weightMap.map { "    \(quote($0.tensor)): \(quote($0.file))" }.joined(separator: ",\n")
        let s = "{\n  \"metadata\": {\"total_size\": \(totalSize)},\n  \"weight_map\": {\n\(pairs)\n  }\n}"
        return Data(s.utf8)
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

/// A fresh temporary directory per test, removed afterwards.
class TempDirTestCase: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory
            .appendingPathComponent("qwenkit-st-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let tmp { try? FileManager.default.removeItem(at: tmp) }
    }

    @discardableResult
    func write(_ data: Data, _ name: String) throws -> URL {
        let url = tmp.appendingPathComponent(name)
        try data.write(to: url)
        return url
    }

    /// The error thrown by `body`, failing the test if nothing is thrown.
    func error<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> Error? {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    /// Asserts that `body` throws an error whose description contains every one of `parts`.
    func assertThrows<T>(
        _ body: @autoclosure () throws -> T, mentioning parts: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let e = error(body, file: file, line: line) else { return }
        let text = String(describing: e)
        XCTAssertFalse(text.contains("\n"), "one-line message expected: \(text)", file: file, line: line)
        for p in parts {
            XCTAssertTrue(text.contains(p), "\"\(text)\" should mention \"\(p)\"", file: file, line: line)
        }
    }
}

/// The repository's `Tests/Fixtures` folder, found relative to this file.
func fixturesDirectory() -> URL {
    var url = URL(fileURLWithPath: #filePath)
    while url.lastPathComponent != "Tests" && url.path != "/" { url.deleteLastPathComponent() }
    return url.appendingPathComponent("Fixtures")
}
