import XCTest
import Foundation
import SafeTensors
import TensorCore
@testable import LanguageModels

/// The whole model against transformers 5.23 (float32 compute) on every fixture model and prompt:
/// full-forward logits, cached greedy decode, per-layer activations of the 70-token prompt, and the prompt fed
/// in pieces. Tolerance 1e-4 absolute on logits (transformers' own cached vs uncached paths differ by 2e-5);
/// every greedy id identical.
final class Qwen35ReferenceTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let modelNames = ["qwen35-dense-tiny", "qwen35-moe-tiny", "qwen35-moe-tiny-bf16"]
    static let logitTolerance: Float = 1e-4

    struct Fixture {
        let name: String
        let model: Qwen35Model
        let refs: WeightStore
        func tensor(_ key: String) throws -> [Float] {
            let e = try XCTUnwrap(refs.entries[key], "\(name): reference \(key) missing")
            return try refs.take(key, shape: e.shape, dtypes: Set(DType.allCases)).toFloats()  // references hold ids (I64) too
        }
        func ids(_ key: String) throws -> [Int] { try tensor(key).map { Int($0) } }
    }

    nonisolated(unsafe) static var cache: [String: Fixture] = [:]
    static func fixture(_ name: String) throws -> Fixture {
        if let f = cache[name] { return f }
        let model = try Qwen35Model(directory: fixtures.appendingPathComponent("models/\(name)"))
        // The unprefixed tensors of the bf16 model are float32 compute on its bf16 weights (what we do).
        let refs = try WeightStore(file: fixtures.appendingPathComponent("references/\(name).safetensors"))
        let f = Fixture(name: name, model: model, refs: refs)
        cache[name] = f
        return f
    }

    static func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "sizes differ: \(a.count) vs \(b.count)")
        var m: Float = 0
        for i in a.indices { m = max(m, abs(a[i] - b[i])) }
        return a.contains { $0.isNaN } ? .nan : m
    }

    static func argmax(_ row: ArraySlice<Float>) -> Int {
        var best = row.startIndex
        for i in row.indices where row[i] > row[best] { best = i }
        return best - row.startIndex
    }

    func testFullForwardLogits() throws {
        for name in Self.modelNames {
            let f = try Self.fixture(name)
            for k in 0..<4 {
                let ids = try f.ids("p\(k).input_ids")
                var state = f.model.makeState()
                let logits = f.model.forward(ids, state: &state, allLogits: true)   // [T, V]
                let d = Self.maxAbs(logits, try f.tensor("p\(k).logits"))
                print("\(name) p\(k) (T=\(ids.count)) logits max |Δ| = \(d)")
                XCTAssertLessThanOrEqual(d, Self.logitTolerance, "\(name) p\(k): full-forward logits")
            }
        }
    }

    func testCachedGreedyDecode() throws {
        for name in Self.modelNames {
            let f = try Self.fixture(name)
            let v = f.model.vocabSize
            for k in 0..<4 {
                let ids = try f.ids("p\(k).input_ids")
                let refLogits = try f.tensor("p\(k).decode_logits")          // [12, V]
                let refIds = try f.ids("p\(k).greedy_ids")                   // [12]
                var state = f.model.makeState()
                var logits = f.model.forward(ids, state: &state, allLogits: false)   // [1, V]
                var got: [Int] = [], worst: Float = 0
                for step in 0..<refIds.count {
                    worst = max(worst, Self.maxAbs(logits, Array(refLogits[(step * v)..<((step + 1) * v)])))
                    let next = Self.argmax(logits[...])
                    got.append(next)
                    if step + 1 < refIds.count { logits = f.model.forward([next], state: &state, allLogits: false) }
                }
                print("\(name) p\(k) decode_logits max |Δ| = \(worst)")
                XCTAssertLessThanOrEqual(worst, Self.logitTolerance, "\(name) p\(k): decode logits")
                XCTAssertEqual(got, refIds, "\(name) p\(k): greedy ids")
                XCTAssertEqual(state.position, ids.count + refIds.count - 1)
            }
        }
    }

    /// p3 (217 tokens, crossing chunk boundaries) fed as 37 + 1 + 63 + rest through the caches equals one forward.
    func testPromptInPiecesEqualsOneForward() throws {
        for name in Self.modelNames {
            let f = try Self.fixture(name)
            let ids = try f.ids("p3.input_ids")
            var state = f.model.makeState()
            var logits: [Float] = []
            var start = 0
            for n in [37, 1, 63, ids.count - 101] {
                logits += f.model.forward(Array(ids[start..<(start + n)]), state: &state, allLogits: true)
                start += n
            }
            let d = Self.maxAbs(logits, try f.tensor("p3.logits"))
            print("\(name) p3 in pieces max |Δ| = \(d)")
            XCTAssertLessThanOrEqual(d, Self.logitTolerance, "\(name): prompt in pieces")
        }
    }

    /// Every block boundary of the 70-token prompt, so that a failure names the layer and block.
    func testPerLayerActivations() throws {
        for name in Self.modelNames {
            let f = try Self.fixture(name)
            let ids = try f.ids("p2.input_ids")
            var recorded: [(String, [Float])] = []
            var states = [f.model.makeState()]
            _ = f.model.forward([ids], states: &states, allLogits: true, pool: .shared) { recorded.append(($0, $1)) }
            XCTAssertEqual(recorded.count, 2 + 5 * f.model.config.numHiddenLayers)
            for (key, mine) in recorded {
                let theirs = try f.tensor("p2.\(key)")
                let scale = max(1, theirs.map(abs).max() ?? 0)
                let d = Self.maxAbs(mine, theirs)
                XCTAssertLessThanOrEqual(d, 2e-5 * scale, "\(name) p2.\(key): max |Δ| \(d)")
            }
            // Attention cache after the prompt: keys after k_norm and RoPE, reference layout [Hkv, T, D].
            for (i, layer) in states[0].layers.enumerated() {
                guard case .attention(let kv) = layer else { continue }
                let t = ids.count, hkv = kv.kvHeads, d = kv.headDim
                for (label, mine) in [("key", kv.keys), ("value", kv.values)] {
                    let theirs = try f.tensor("p2.L\(i).cache.\(label)")
                    var worst: Float = 0
                    for h in 0..<hkv { for p in 0..<t { for j in 0..<d {
                        worst = max(worst, abs(mine[(p * hkv + h) * d + j] - theirs[(h * t + p) * d + j]))
                    } } }
                    XCTAssertLessThanOrEqual(worst, 2e-5, "\(name) L\(i) cache.\(label)")
                }
            }
        }
    }

    /// The full-attention block's internals (query/gate split, q/k norms, gated output) on p2.
    func testAttentionInternals() throws {
        for name in Self.modelNames {
            let f = try Self.fixture(name)
            for (i, layer) in f.model.layers.enumerated() {
                guard case .full(let attn) = layer.mixer else { continue }
                let x = try f.tensor("p2.L\(i).input_norm")
                var caches = [attn.makeCache()]
                var trace: GatedAttention.Trace?
                let out = attn.forward(x, segments: Segments([70]), caches: &caches, pool: .shared) { trace = $0 }
                let tr = try XCTUnwrap(trace)
                for (label, mine, key) in [("q_normed", tr.qNormed, "attn.q_normed"), ("k_normed", tr.kNormed, "attn.k_normed"),
                                           ("gated_out", tr.gatedOut, "attn.gated_out_pre_o_proj"), ("mixer_out", out, "mixer_out")] {
                    let d = Self.maxAbs(mine, try f.tensor("p2.L\(i).\(key)"))
                    XCTAssertLessThanOrEqual(d, 2e-5, "\(name) L\(i) \(label): max |Δ| \(d)")
                }
            }
        }
    }

    /// Router choices and weights of every MoE layer on p2.
    func testMoERouting() throws {
        for name in ["qwen35-moe-tiny", "qwen35-moe-tiny-bf16"] {
            let f = try Self.fixture(name)
            for (i, layer) in f.model.layers.enumerated() {
                guard case .sparse(let moe) = layer.ffn else { continue }
                let x = try f.tensor("p2.L\(i).post_attn_norm")
                let r = moe.route(x, tokens: 70, pool: .shared)
                let refIdx = try f.ids("p2.L\(i).moe.topk_idx"), refW = try f.tensor("p2.L\(i).moe.topk_weights")
                XCTAssertEqual(r.experts, refIdx, "\(name) L\(i) expert choice")
                XCTAssertLessThanOrEqual(Self.maxAbs(r.weights, refW), 1e-6, "\(name) L\(i) routing weights")
                let y = moe(x, tokens: 70)
                XCTAssertLessThanOrEqual(Self.maxAbs(y, try f.tensor("p2.L\(i).mlp_out")), 2e-5, "\(name) L\(i) moe out")
            }
        }
    }
}
