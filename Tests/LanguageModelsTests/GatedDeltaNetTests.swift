import XCTest
import Foundation
import SafeTensors
import TensorCore
@testable import LanguageModels

/// The Gated DeltaNet block against transformers 5.23 activations of the tiny fixture models (prompt p2,
/// 70 tokens: crosses one 64-token chunk boundary).
final class GatedDeltaNetTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    struct Model {
        let config: Qwen35Config
        let weights: WeightStore
        let refs: WeightStore
    }

    func load(_ name: String) throws -> Model {
        let dir = Self.fixtures.appendingPathComponent("models/\(name)")
        return Model(config: try Qwen35Config.load(directory: dir), weights: try WeightStore(directory: dir),
                     refs: try WeightStore(file: Self.fixtures.appendingPathComponent("references/\(name).safetensors")))
    }

    func ref(_ m: Model, _ name: String) throws -> [Float] {
        let e = try XCTUnwrap(m.refs.entries[name], "missing reference \(name)")
        return try m.refs.take(name, shape: e.shape, dtypes: Set(DType.allCases)).toFloats()  // references, not weights
    }

    func maxAbs(_ a: [Float], _ b: [Float], file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(a.count, b.count, "sizes differ", file: file, line: line)
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    func block(_ m: Model, layer: Int) throws -> GatedDeltaNet {
        try GatedDeltaNet(config: m.config, store: m.weights, prefix: "model.language_model.layers.\(layer).linear_attn.")
    }

    /// Layer outputs, internals and final caches vs the reference: max |Δ| ≤ tol · max(1, max |ref|) per tensor.
    /// Most tensors are O(0.1–3), so this is 1e-5 absolute; gated_norm_out reaches ~11 (the RMS division
    /// amplifies small rows), where 1e-5 absolute would be ~10 f32 ulps, so the bound scales with the values.
    func checkLayer(_ m: Model, layer i: Int, tol: Float, label: String) throws {
        let gdn = try block(m, layer: i)
        let cfg = m.config
        let t = 70, c = cfg.convDim, k = cfg.linearConvKernelDim
        let hk = cfg.linearNumKeyHeads, dk = cfg.linearKeyHeadDim
        let x = try ref(m, "p2.L\(i).input_norm")            // [T, H]
        var states = [gdn.makeState()]
        let tr = gdn.forward(x, segments: Segments([t]), states: &states)
        let state = states[0]
        // q_conv / k_conv / v_conv are the conv outputs before the L2 norm, split by channel block.
        let qRef = try ref(m, "p2.L\(i).gdn.q_conv"), kRef = try ref(m, "p2.L\(i).gdn.k_conv"), vRef = try ref(m, "p2.L\(i).gdn.v_conv")
        var q = [Float](), kk = [Float](), v = [Float]()
        for tok in 0..<t {
            let row = tr.qkvConv[(tok * c)..<((tok + 1) * c)]
            q += row.prefix(hk * dk); kk += row.dropFirst(hk * dk).prefix(hk * dk); v += row.dropFirst(2 * hk * dk)
        }
        var report: [String] = []
        for (name, mine, theirs) in [("q_conv", q, qRef), ("k_conv", kk, kRef), ("v_conv", v, vRef),
                                     ("g", tr.g, try ref(m, "p2.L\(i).gdn.g")), ("beta", tr.beta, try ref(m, "p2.L\(i).gdn.beta")),
                                     ("core_out", tr.core, try ref(m, "p2.L\(i).gdn.core_out")),
                                     ("gated_norm_out", tr.gatedNorm, try ref(m, "p2.L\(i).gdn.gated_norm_out")),
                                     ("mixer_out", tr.out, try ref(m, "p2.L\(i).mixer_out")),
                                     ("recurrent_state", state.ssm, try ref(m, "p2.L\(i).cache.recurrent_state"))] {
            let d = maxAbs(mine, theirs), scale = theirs.map(abs).max() ?? 0
            report.append("\(name) \(d)")
            XCTAssertLessThanOrEqual(d, tol * max(1, scale), "\(label) layer \(i) \(name): max |Δ| \(d) (max |ref| \(scale))")
        }
        // HF conv_state [C, K] keeps the last K pre-conv rows; our history [K−1, C] is its last K−1 columns.
        let convRef = try ref(m, "p2.L\(i).cache.conv_state")   // [C, K]
        let pRef = try ref(m, "p2.L\(i).gdn.in_proj_qkv")       // [T, C]
        var dHist: Float = 0, dCol0: Float = 0
        for r in 0..<(k - 1) {
            for ch in 0..<c { dHist = max(dHist, abs(state.conv[r * c + ch] - convRef[ch * k + r + 1])) }
        }
        for ch in 0..<c { dCol0 = max(dCol0, abs(pRef[(t - k) * c + ch] - convRef[ch * k])) }
        XCTAssertLessThanOrEqual(dHist, tol, "\(label) layer \(i) conv history")
        XCTAssertLessThanOrEqual(dCol0, tol, "\(label) layer \(i): conv_state column 0 is not the row T−K")
        print("GDN \(label) L\(i): " + report.joined(separator: ", ") + ", conv_history \(dHist)")
    }

    func testDenseLayersMatchTransformers() throws {
        let m = try load("qwen35-dense-tiny")
        for i in 0..<3 { try checkLayer(m, layer: i, tol: 1e-5, label: "dense") }
    }

    func testMoELayersMatchTransformers() throws {
        let m = try load("qwen35-moe-tiny")
        for i in 0..<m.config.numHiddenLayers where m.config.layerTypes[i] == .linearAttention {
            try checkLayer(m, layer: i, tol: 1e-5, label: "moe")
        }
    }

    /// bf16 weights, f32 compute: the unprefixed reference set is transformers in f32 on the same bf16 values.
    func testBF16ModelLayer0MatchesF32Reference() throws {
        let m = try load("qwen35-moe-tiny-bf16")
        XCTAssertEqual(m.weights.entries["model.language_model.layers.0.linear_attn.in_proj_qkv.weight"]?.dtype, .bf16)
        try checkLayer(m, layer: 0, tol: 1e-5, label: "bf16")
    }

    /// 37 tokens (chunked) + 1 (recurrent step) + 32 (chunked, continuing) == one 70-token call.
    func testSplitCallsEqualOneCall() throws {
        let m = try load("qwen35-dense-tiny")
        let gdn = try block(m, layer: 0)
        let h = m.config.hiddenSize
        let x = try ref(m, "p2.L0.input_norm")                // [70, H]
        var whole = gdn.makeState()
        let one = gdn(x, tokens: 70, state: &whole)           // [70, H]
        var split = gdn.makeState()
        var parts: [Float] = []
        var start = 0
        for n in [37, 1, 32] {
            parts += gdn(Array(x[(start * h)..<((start + n) * h)]), tokens: n, state: &split)
            start += n
        }
        let d = maxAbs(one, parts), ds = maxAbs(whole.ssm, split.ssm)
        XCTAssertLessThanOrEqual(d, 1e-5, "split outputs")
        XCTAssertLessThanOrEqual(ds, 1e-5, "split state")
        // The conv window holds the last projected rows; the projections of a 32-token call and of the 70-token
        // call take different matmul paths (GEMV rows vs packed GEMM), so equal up to f32 summation order.
        XCTAssertEqual(whole.conv.count, split.conv.count)
        XCTAssertLessThanOrEqual(maxAbs(whole.conv, split.conv), 1e-5, "conv history must be the same rows")
        print("GDN split 37+1+32: max|Δout| \(d), max|ΔS| \(ds)")
    }

    /// Decoding all 70 tokens one at a time (recurrent path) equals the chunked prefill.
    func testTokenByTokenEqualsPrefill() throws {
        let m = try load("qwen35-dense-tiny")
        let gdn = try block(m, layer: 1)
        let h = m.config.hiddenSize
        let x = try ref(m, "p2.L1.input_norm")
        var a = gdn.makeState(), b = gdn.makeState()
        let one = gdn(x, tokens: 70, state: &a)
        var steps: [Float] = []
        for t in 0..<70 { steps += gdn(Array(x[(t * h)..<((t + 1) * h)]), tokens: 1, state: &b) }
        let d = maxAbs(one, steps)
        XCTAssertLessThanOrEqual(d, 1e-5)
        XCTAssertLessThanOrEqual(maxAbs(a.ssm, b.ssm), 1e-5)
        print("GDN 70 decode steps vs prefill: max|Δout| \(d)")
    }

    func testMissingTensorThrows() throws {
        let m = try load("qwen35-dense-tiny")
        XCTAssertThrowsError(try GatedDeltaNet(config: m.config, store: m.weights, prefix: "model.language_model.layers.3.linear_attn."))
    }
}
