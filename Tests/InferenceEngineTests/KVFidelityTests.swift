import Foundation
import LanguageModels
import TensorCore
@testable import InferenceEngine
import XCTest

/// The KV fidelity measurement (`qwenkit bench --kl-vs-f32`) on the tiny fixtures.
final class KVFidelityTests: XCTestCase {
    func testKLOfTwoKnownRows() {
        // softmax([0, 0]) = (½, ½), softmax([0, ln 3]) = (¼, ¾): KL = ½ ln 2 + ½ ln ⅔ = ½ ln(4/3).
        let p: [Float] = [0, 0], q: [Float] = [0, logf(3)]
        let (kl, same) = KVFidelity.klDivergence(p, q, count: 2)
        XCTAssertEqual(kl, 0.5 * log(4.0 / 3.0), accuracy: 1e-7)
        XCTAssertFalse(same, "argmax 0 (first of a tie) vs 1")
        XCTAssertEqual(KVFidelity.klDivergence(q, q, count: 2).0, 0)
    }

    func testF32IsExactAndSmallerTypesCostLittle() throws {
        let m = try Qwen35Model(directory: BatchingTests.fixtures.appendingPathComponent("models/qwen35-dense-tiny"))
        let ids = (0..<150).map { ($0 * 31 + 7) % (m.vocabSize - 20) }
        let r = KVFidelity.measure(model: m, ids: ids, types: [.f32, .bf16, .f16, .q8_0])
        XCTAssertEqual(r.map(\.positions), [150, 150, 150, 150])
        XCTAssertEqual(r[0].meanKL, 0, "f32 against f32 is the same computation")
        XCTAssertEqual(r[0].sameTop1, 1)
        for x in r.dropFirst() {
            XCTAssertGreaterThan(x.meanKL, 0, "\(x.type): rounding the cache must show")
            XCTAssertLessThan(x.meanKL, 1e-3, "\(x.type): a small cost")
            XCTAssertGreaterThan(x.sameTop1, 0.9, "\(x.type)")
        }
        XCTAssertLessThan(r[2].meanKL, r[1].meanKL, "f16 keeps 3 more mantissa bits than bf16")
        // Scoring only the tail (llama-perplexity's second half): the first chunk is read but not scored.
        let tail = KVFidelity.measure(model: m, ids: ids, types: [.q8_0], from: 100)
        XCTAssertEqual(tail[0].positions, 50)
        XCTAssertGreaterThan(tail[0].meanKL, 0)
        XCTAssertLessThanOrEqual(tail[0].maxKL, r[3].maxKL)
    }
}
