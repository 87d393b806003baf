import Kernels
import SafeTensors
import TensorCore

/// Gated DeltaNet ("linear attention") mixer of a Qwen3.5 GDN layer (ARCHITECTURE.md §3.2), ported from
/// transformers `Qwen3_5GatedDeltaNet.forward`. Per 64-token grid piece (`Segments.pieces`), more than one token
/// runs the chunked delta rule (§3.2.1), one token the recurrent step; both continue from `RecurrentState` (§4).
public struct GatedDeltaNet: Sendable {
    public let config: Qwen35Config
    let wQKV: WeightTensor      // [C, H]
    let wZ: WeightTensor        // [Hv·dv, H]
    let wB: WeightTensor        // [Hv, H]
    let wA: WeightTensor        // [Hv, H]
    let wOut: WeightTensor      // [H, Hv·dv]
    let convWeight: [Float]     // [C, K]
    let aLog: [Float]           // [Hv] kept f32 (§2.6)
    let dtBias: [Float]         // [Hv]
    let normWeight: [Float]     // [dv] plain weight, no +1

    /// Takes `<prefix>in_proj_qkv.weight`, `in_proj_z`, `in_proj_b`, `in_proj_a`, `conv1d.weight`, `A_log`,
    /// `dt_bias`, `norm.weight`, `out_proj.weight` from `store`; `prefix` ends with `linear_attn.`.
    public init(config: Qwen35Config, store: any WeightSource, prefix: String) throws {
        self.config = config
        let h = config.hiddenSize, c = config.convDim, k = config.linearConvKernelDim
        let hv = config.linearNumValueHeads, dv = config.linearValueHeadDim
        wQKV = try store.take(prefix + "in_proj_qkv.weight", shape: [c, h])
        wZ = try store.take(prefix + "in_proj_z.weight", shape: [hv * dv, h])
        wB = try store.take(prefix + "in_proj_b.weight", shape: [hv, h])
        wA = try store.take(prefix + "in_proj_a.weight", shape: [hv, h])
        wOut = try store.take(prefix + "out_proj.weight", shape: [h, hv * dv])
        convWeight = try store.take(prefix + "conv1d.weight", shape: [c, 1, k]).toFloats()
        aLog = try store.take(prefix + "A_log", shape: [hv]).toFloats()
        dtBias = try store.take(prefix + "dt_bias", shape: [hv]).toFloats()
        normWeight = try store.take(prefix + "norm.weight", shape: [dv]).toFloats()
    }

    /// A fresh (all-zero) state for this layer.
    public func makeState() -> RecurrentState {
        RecurrentState(convChannels: config.convDim, kernel: config.linearConvKernelDim,
                       valueHeads: config.linearNumValueHeads, keyDim: config.linearKeyHeadDim,
                       valueDim: config.linearValueHeadDim)
    }

    /// `x`: normed input `[T, H]` → mixer output `[T, H]`, advancing `state`. The state does not know its
    /// position: the rows are taken to start at position 0 of the grid (what the layer tests need).
    public func callAsFunction(_ x: [Float], tokens: Int, state: inout RecurrentState, pool: ThreadPool = .shared) -> [Float] {
        var states = [state]
        state = RecurrentState.empty
        defer { state = states[0] }
        return forward(x, segments: Segments([tokens]), states: &states, pool: pool).out
    }

    /// Intermediate tensors of one call, named after the reference fixtures (`p2.L<i>.gdn.*`), for tests.
    struct Trace {
        var qkvConv: [Float]     // [T, C] after conv + SiLU, before the L2 norm
        var g: [Float]           // [T, Hv]
        var beta: [Float]        // [T, Hv]
        var core: [Float]        // [T, Hv, dv] delta-rule output
        var gatedNorm: [Float]   // [T, Hv·dv]
        var out: [Float]         // [T, H]
    }

    /// Several sequences' rows at once (`segments`, each continuing its own state in `states`): projections
    /// run over all rows, the conv per segment, and the delta rule per segment and 64-token grid piece (chunked
    /// when the piece has more than one token, so the choice depends only on the piece, not on the forward).
    func forward(_ x: [Float], segments: Segments, states: inout [RecurrentState], pool: ThreadPool = .shared,
                 forceRecurrent: Bool = false) -> Trace {
        let cfg = config, t = segments.total
        let h = cfg.hiddenSize, c = cfg.convDim, kk = cfg.linearConvKernelDim
        let hk = cfg.linearNumKeyHeads, hv = cfg.linearNumValueHeads
        let dk = cfg.linearKeyHeadDim, dv = cfg.linearValueHeadDim
        precondition(t >= 1 && x.count == t * h, "GatedDeltaNet: input \(x.count) != \(t)×\(h)")
        precondition(hv % hk == 0, "GatedDeltaNet: Hv \(hv) not a multiple of Hk \(hk)")
        precondition(states.count == segments.count, "GatedDeltaNet: \(states.count) states for \(segments.count) segments")
        for state in states {
            precondition(state.conv.count == (kk - 1) * c && state.ssm.count == hv * dk * dv,
                         "GatedDeltaNet: state sizes \(state.conv.count), \(state.ssm.count) do not fit the config")
        }
        let rowwise = segments.rowwise

        // 1. Projections.
        let p = matmul(x, wQKV, tokens: t, rowwise: rowwise, pool: pool)      // [T, C]
        let z = matmul(x, wZ, tokens: t, rowwise: rowwise, pool: pool)        // [T, Hv, dv]
        let bl = matmul(x, wB, tokens: t, rowwise: rowwise, pool: pool)       // [T, Hv]
        let al = matmul(x, wA, tokens: t, rowwise: rowwise, pool: pool)       // [T, Hv]

        // 2. Causal conv + SiLU over [history ; P] per segment, updating each history.
        var y = [Float](repeating: 0, count: t * c)         // [T, C]
        p.withUnsafeBufferPointer { pp in
            convWeight.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    for (i, (r0, n)) in segments.ranges.enumerated() {
                        states[i].conv.withUnsafeMutableBufferPointer { hp in
                            gdnCausalConv1dSiLU(pp.baseAddress! + r0 * c, weight: wp.baseAddress!, history: hp.baseAddress!,
                                                yp.baseAddress! + r0 * c, tokens: n, channels: c, kernel: kk, pool: pool)
                        }
                    }
                }
            }
        }
        let qkvConv = y

        // 3–5. L2-normalise q (then scale by dk^-1/2) and k per head, in place; gates.
        var g = [Float](repeating: 0, count: t * hv)        // [T, Hv]
        var beta = [Float](repeating: 0, count: t * hv)     // [T, Hv]
        y.withUnsafeMutableBufferPointer { yp in
            let base = yp.baseAddress!
            for tok in 0..<t {
                gdnL2Normalize(base + tok * c, count: hk, dim: dk, stride: dk, scale: 1 / Float(dk).squareRoot())
                gdnL2Normalize(base + tok * c + hk * dk, count: hk, dim: dk, stride: dk)
            }
        }
        al.withUnsafeBufferPointer { ap in bl.withUnsafeBufferPointer { bp in
            aLog.withUnsafeBufferPointer { lp in dtBias.withUnsafeBufferPointer { dp in
                g.withUnsafeMutableBufferPointer { gp in beta.withUnsafeMutableBufferPointer { betap in
                    gdnGates(a: ap.baseAddress!, b: bp.baseAddress!, aLog: lp.baseAddress!, dtBias: dp.baseAddress!,
                             g: gp.baseAddress!, beta: betap.baseAddress!, tokens: t, heads: hv)
                } }
            } }
        } }

        // 6–7. Delta rule per (segment, value head) (grouped map: key head h / (Hv/Hk)); all are independent.
        var core = [Float](repeating: 0, count: t * hv * dv) // [T, Hv, dv]
        let group = hv / hk
        let ranges = segments.ranges
        let pieces = segments.ranges.indices.map { segments.pieces($0) }
        // Each segment's state buffer, held for the whole loop: the arrays are moved out of `states` and their
        // buffers opened in nested closures (no pointer outlives its closure; unique, so no copy).
        var ssms = states.indices.map { i in
            let a = states[i].ssm
            states[i].ssm = []
            return a
        }
        defer { for i in states.indices { states[i].ssm = ssms[i] } }
        withMutableBuffers(&ssms) { ssm in
        y.withUnsafeBufferPointer { yp in g.withUnsafeBufferPointer { gp in beta.withUnsafeBufferPointer { bp in
            core.withUnsafeMutableBufferPointer { op in
                let yb = yp.baseAddress!, gb = gp.baseAddress!, bb = bp.baseAddress!, ob = op.baseAddress!
                pool.parallelFor(ranges.count * hv) { item in
                    let seg = item / hv, head = item % hv, kh = head / group
                    let s = ssm[seg] + head * dk * dv   // [dk, dv]
                    // Grid piece by grid piece (Segments.pieces): the chunked form's chunks start where the
                    // call starts, and one token takes the recurrent form, as one grid chunk per forward would.
                    for piece in pieces[seg] {
                        let r0 = ranges[seg].0 + piece.offset, n = piece.count
                        let streams = GDNHeadStreams(
                            q: yb + r0 * c + kh * dk, qStride: c, k: yb + r0 * c + hk * dk + kh * dk, kStride: c,
                            v: yb + r0 * c + 2 * hk * dk + head * dv, vStride: c, g: gb + r0 * hv + head,
                            beta: bb + r0 * hv + head, gateStride: hv, out: ob + r0 * hv * dv + head * dv, outStride: hv * dv)
                        if n > 1 && !forceRecurrent {
                            gdnDeltaRuleChunked(streams, state: s, tokens: n, keyDim: dk, valueDim: dv)
                        } else {
                            gdnDeltaRuleRecurrent(streams, state: s, tokens: n, keyDim: dk, valueDim: dv)
                        }
                    }
                }
            }
        } } }
        }

        // 8. Gated RMSNorm per (token, value head) with Z as the gate.
        var normed = [Float](repeating: 0, count: t * hv * dv) // [T, Hv·dv]
        core.withUnsafeBufferPointer { op in z.withUnsafeBufferPointer { zp in
            normWeight.withUnsafeBufferPointer { wp in normed.withUnsafeMutableBufferPointer { np in
                gdnGatedRMSNorm(op.baseAddress!, gate: zp.baseAddress!, weight: wp.baseAddress!, np.baseAddress!,
                                rows: t * hv, dim: dv, eps: cfg.rmsNormEps, pool: pool)
            } }
        } }

        // 9. Output projection.
        let out = matmul(normed, wOut, tokens: t, rowwise: rowwise, pool: pool) // [T, H]
        return Trace(qkvConv: qkvConv, g: g, beta: beta, core: core, gatedNorm: normed, out: out)
    }
}

/// Opens every array's buffer for `body` at once, in nested `withUnsafeMutableBufferPointer` closures, so the
/// pointers are valid exactly as long as `body` runs.
func withMutableBuffers(_ arrays: inout [[Float]], _ body: ([UnsafeMutablePointer<Float>]) -> Void) {
    // The last array is taken out into a local, so opening it never overlaps an access to `arrays`.
    func open(_ rest: inout [[Float]], _ opened: [UnsafeMutablePointer<Float>]) {
        guard var last = rest.popLast() else { return body(opened.reversed()) }
        last.withUnsafeMutableBufferPointer { open(&rest, opened + [$0.baseAddress!]) }
        rest.append(last)
    }
    open(&arrays, [])
}
