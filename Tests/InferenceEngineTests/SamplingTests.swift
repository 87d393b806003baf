import XCTest
@testable import InferenceEngine

/// Each sampler against small hand-computed distributions, penalties, seeds and parameter validation.
final class SamplingTests: XCTestCase {
    // logits ln(0.5), ln(0.3), ln(0.15), ln(0.05) → probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1.
    let logits: [Float] = [0.5, 0.3, 0.15, 0.05].map { logf($0) }

    func testSoftmaxAndTemperature() {
        let p = sortedProbabilities(logits, temperature: 1)
        XCTAssertEqual(p.map(\.id), [0, 1, 2, 3])
        for (got, want) in zip(p.map(\.p), [0.5, 0.3, 0.15, 0.05] as [Float]) { XCTAssertEqual(got, want, accuracy: 1e-6) }
        // T = 0.5 squares the odds: 0.25 : 0.09 : 0.0225 : 0.0025, normalised by 0.365.
        let q = sortedProbabilities(logits, temperature: 0.5)
        XCTAssertEqual(q[0].p, 0.25 / 0.365, accuracy: 1e-5)
        XCTAssertEqual(q[3].p, 0.0025 / 0.365, accuracy: 1e-6)
    }

    func testTopKTopPMinP() {
        let p = sortedProbabilities(logits, temperature: 1)
        XCTAssertEqual(topK(p, 2).map(\.id), [0, 1])
        XCTAssertEqual(topK(p, 0).count, 4)
        XCTAssertEqual(topP(p, 0.5).map(\.id), [0])            // 0.5 reaches 0.5
        XCTAssertEqual(topP(p, 0.79).map(\.id), [0, 1])        // 0.8 ≥ 0.79
        XCTAssertEqual(topP(p, 0.81).map(\.id), [0, 1, 2])
        XCTAssertEqual(minP(p, 0.31).map(\.id), [0, 1])        // threshold 0.155: drops 0.15 and 0.05
        XCTAssertEqual(minP(p, 0.61).map(\.id), [0])           // threshold 0.305: drops 0.3
    }

    func testDrawFollowsTheDistribution() {
        var rng = SeededGenerator(seed: 42)
        let p = sortedProbabilities(logits, temperature: 1)
        var counts = [0, 0, 0, 0]
        for _ in 0..<20000 { counts[draw(p, &rng)] += 1 }
        for (c, want) in zip(counts, [0.5, 0.3, 0.15, 0.05]) { XCTAssertEqual(Double(c) / 20000, want, accuracy: 0.015) }
    }

    func testSeedsReproducibleAndDifferent() {
        var params = SamplingParameters()
        params.temperature = 1
        func run(_ seed: UInt64) -> [Int] {
            var p = params; p.seed = seed
            var s = Sampler(p)
            return (0..<64).map { _ in s.sample(logits) }
        }
        XCTAssertEqual(run(7), run(7))
        XCTAssertNotEqual(run(7), run(8))
    }

    /// The selection-based candidates equal the sort-everything twin: random, peaked, flat and tied logits,
    /// every truncation alone and combined (top-p growth past its first guess of 64 included).
    func testCandidateSelectionMatchesReference() {
        var rng = SeededGenerator(seed: 5)
        let v = 3000
        let shapes: [[Float]] = [
            (0..<v).map { _ in rng.nextUnit() * 8 - 4 },                      // random
            (0..<v).map { _ in powf(rng.nextUnit(), 8) * 30 },                // peaked: few large logits
            (0..<v).map { _ in rng.nextUnit() * 0.01 },                       // nearly flat: top-p keeps most
            (0..<v).map { Float($0 % 7) },                                    // many exact ties
        ]
        for logits in shapes {
            for t: Float in [0.3, 1, 1.7] {
                for (k, p, m): (Int, Float, Float) in [(0, 1, 0), (20, 1, 0), (0, 0.95, 0), (0, 1, 0.05), (40, 0.9, 0.02),
                                                       (1, 1, 0), (v + 5, 0.5, 0), (0, 0.999, 0.001), (2999, 1, 0)] {
                    let fast = truncatedCandidates(logits, temperature: t, topK: k, topP: p, minP: m)
                    let plain = referenceCandidates(logits, temperature: t, topK: k, topP: p, minP: m)
                    // Compared as whole lists, reported by size (the lists run to thousands of entries).
                    XCTAssertTrue(fast.map(\.id) == plain.map(\.id) && fast.map(\.p) == plain.map(\.p),
                                  "T=\(t) k=\(k) p=\(p) min_p=\(m): \(fast.count) candidates vs \(plain.count)")
                }
            }
            for n in [1, 5, 64, 700, 2999, 3000, 4000] {
                let sorted = logits.indices.sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
                XCTAssertTrue(topIndices(logits, n) == Array(sorted.prefix(n)), "n=\(n)")
            }
        }
    }

    /// Defaults ← generation_config ← request: a set value wins, nil keeps what lies underneath, biases merge.
    func testOverridesStackInLayers() {
        var model = SamplingOverrides()
        model.temperature = 0.6; model.topK = 20; model.logitBias = [1: 2, 2: 3]
        var request = SamplingOverrides()
        request.temperature = 0; request.seed = 9; request.logitBias = [2: -1]
        let p = request.applied(to: model.applied(to: SamplingParameters()))
        XCTAssertEqual(p.temperature, 0)
        XCTAssertEqual(p.topK, 20)                       // kept from the model layer
        XCTAssertEqual(p.topP, SamplingParameters().topP) // nobody set it
        XCTAssertEqual(p.seed, 9)
        XCTAssertEqual(p.logitBias, [1: 2, 2: -1])
    }

    func testGreedyIsArgmax() {
        var s = Sampler(.greedy)
        XCTAssertEqual(s.sample([0.1, 2, 0.3]), 1)
    }

    func testPenalties() {
        var l: [Float] = [2, -2, 1]
        applyRepetitionPenalty(&l, seen: [0, 1], penalty: 2)
        XCTAssertEqual(l, [1, -4, 1])
        var m: [Float] = [1, 1, 1]
        applyPresenceFrequency(&m, counts: [0: 3, 2: 1], presence: 0.5, frequency: 0.25)
        XCTAssertEqual(m, [1 - 0.5 - 0.75, 1, 1 - 0.5 - 0.25])
        var b: [Float] = [0, 0]
        applyLogitBias(&b, bias: [1: 5, 9: 1])
        XCTAssertEqual(b, [0, 5])
        // A greedy sampler with a strong repetition penalty avoids the prompt's token.
        var p = SamplingParameters.greedy; p.repetitionPenalty = 10
        var s = Sampler(p, promptIDs: [0])
        XCTAssertEqual(s.sample([2, 1, 0]), 1)
    }

    /// A repetition penalty of 1e-39 is finite and > 0 but sends a seen logit to +inf: every probability is
    /// NaN and min-p keeps nothing. The sampler must still return a token (the top one), not crash.
    func testNonFiniteLogitsFallBackToTheTopToken() {
        var p = SamplingParameters(); p.repetitionPenalty = 1e-39; p.minP = 0.05
        var s = Sampler(p, promptIDs: [2])
        XCTAssertEqual(s.sample([0.1, 0.2, 0.5, 0.3]), 2)
    }

    func testValidationNamesTheParameter() {
        var p = SamplingParameters(); p.temperature = -1
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("temperature")) }
        p = SamplingParameters(); p.topP = 1.5
        XCTAssertThrowsError(try p.validate()) { XCTAssertTrue("\($0)".contains("top_p")) }
        p = SamplingParameters(); p.topK = -3
        XCTAssertThrowsError(try p.validate())
        p = SamplingParameters(); p.minP = 2
        XCTAssertThrowsError(try p.validate())
        p = SamplingParameters(); p.repetitionPenalty = 0
        XCTAssertThrowsError(try p.validate())
        XCTAssertNoThrow(try SamplingParameters().validate())
        p = SamplingParameters(); p.logitBias = [5: 1]
        XCTAssertNoThrow(try p.validate(vocabSize: 6))
        XCTAssertThrowsError(try p.validate(vocabSize: 5)) { XCTAssertTrue("\($0)".contains("token id 5"), "\($0)") }
    }
}
