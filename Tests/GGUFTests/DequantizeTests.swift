import Foundation
import XCTest
import TensorCore
@testable import GGUF

/// Every block format's plain dequantisation against gguf-py's (`Tests/Fixtures/gguf/quant_refs.gguf`, made by
/// `make_quant_refs.py`: random blocks, an all-zero block, the largest and the smallest f16 scale).
final class DequantizeTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gguf/quant_refs.gguf")

    func testEveryFormatMatchesGGUFPy() throws {
        let f = try GGUFFile(path: Self.fixture.path)
        var seen: Set<WeightFormat> = [.f32, .i64]
        for t in f.tensors where !t.name.hasSuffix(".ref") {
            let w = f.weightTensor(t)
            let ref = try XCTUnwrap(f.tensor(t.name + ".ref")).toFloats()
            XCTAssertEqual(w.format.description, t.name)
            let got = w.toFloats()
            XCTAssertEqual(got.count, ref.count, t.name)
            for (i, (a, b)) in zip(got, ref).enumerated() where !(a == b || abs(a - b) <= 1e-6 * max(abs(a), abs(b))) {
                XCTFail("\(t.name)[\(i)]: \(a) vs gguf-py \(b)")
                break
            }
            // scalar(i) agrees with the bulk path.
            XCTAssertEqual(w.scalar(got.count - 1), got[got.count - 1], t.name)
            seen.insert(w.format)
        }
        XCTAssertEqual(seen, Set(WeightFormat.allCases), "every format has a reference")
    }

    func testRowBytesAndUnknownCodes() {
        XCTAssertEqual(WeightFormat.q4_K.rowBytes(1024), 4 * 144)
        XCTAssertEqual(WeightFormat.q8_0.rowBytes(64), 68)
        XCTAssertNil(WeightFormat.q8_0.rowBytes(40))
        XCTAssertNil(WeightFormat(rawValue: 16))     // IQ2_XXS: not supported, so not constructible
        XCTAssertNil(WeightFormat(rawValue: 1000))
    }
}
