import XCTest
import CKernels
import TensorCore
@testable import Kernels

/// The decode-attention inner loops (one KV head, a run of strided key/value rows, all heads of its group)
/// against their plain twins: groups of 1–8 heads (the 4-head register tiles and the remainder), head sizes
/// that are and are not multiples of 16, runs shorter and longer than a vector, rows with a stride.
final class AttentionDecodeKernelTests: XCTestCase {
    func random(_ n: Int, seed: UInt64) -> [Float] { kernelTestRandom(n, seed: seed) }

    func testGroupKernelsMatchTwins() {
        for (group, d, len, stride) in [(4, 256, 70, 512), (8, 64, 33, 64), (6, 32, 1, 96), (1, 16, 17, 16),
                                         (3, 40, 20, 80), (5, 128, 64, 256)] {
            let q = random(group * d, seed: 1), k = random(len * stride, seed: 2), v = random(len * stride, seed: 3)
            let ld = len + 3
            var s = [Float](repeating: .nan, count: group * ld), sr = s
            groupScores(q: q, group: group, d: d, k: k, kStride: stride, len: len, scale: 0.1, s: &s, ldS: ld)
            groupScoresReference(q: q, group: group, d: d, k: k, kStride: stride, len: len, scale: 0.1, s: &sr, ldS: ld)
            var maxErr: Float = 0
            for g in 0..<group { for i in 0..<len { maxErr = max(maxErr, abs(s[g * ld + i] - sr[g * ld + i])) } }
            XCTAssertLessThanOrEqual(maxErr, 1e-5, "scores group=\(group) d=\(d) len=\(len)")
            XCTAssertFalse((0..<group).contains { g in (0..<len).contains { s[g * ld + $0].isNaN } })

            var m = [Float](repeating: 0, count: group), l = m, mr = m, lr = m
            groupSoftmax(s: &s, ldS: ld, group: group, len: len, maxes: &m, sums: &l)
            groupSoftmaxReference(s: &sr, ldS: ld, group: group, len: len, maxes: &mr, sums: &lr)
            for g in 0..<group {
                XCTAssertEqual(m[g], mr[g], accuracy: 1e-5)
                XCTAssertEqual(l[g], lr[g], accuracy: 1e-4 * lr[g])
                for i in 0..<len { XCTAssertEqual(s[g * ld + i], sr[g * ld + i], accuracy: 1e-5) }
            }

            let o0 = random(group * d, seed: 4)
            var o = o0, or = o0
            groupAccumulate(p: s, ldP: ld, group: group, d: d, v: v, vStride: stride, len: len, o: &o)
            groupAccumulateReference(p: sr, ldP: ld, group: group, d: d, v: v, vStride: stride, len: len, o: &or)
            let err = zip(o, or).map { abs($0 - $1) }.reduce(0, max)
            XCTAssertFalse(o.contains { $0.isNaN })
            XCTAssertLessThanOrEqual(err, 1e-4, "accumulate group=\(group) d=\(d) len=\(len)")
        }
    }

    /// The tests above at every kernel level the CPU has (AVX-512 and AVX2 on an AVX-512 CPU), and the AVX2
    /// accumulate equal to the AVX-512 one bit for bit (each element's products in key order either way).
    func testEveryKernelLevel() throws {
        defer { qk_attn_force_level(-1) }
        qk_attn_force_level(-1)
        let best = qk_attn_typed_supported(Int32(QK_F32), 256) == 0 ? 0 : qk_has_avx512() != 0 ? 2 : 1
        try XCTSkipIf(best == 0, "no AVX-512 or AVX2: the typed kernels do not run here")
        let (d, len, rowStride) = (64, 37, 160)
        let p = random(8 * len, seed: 11), v = random(len * rowStride, seed: 12), o0 = random(8 * d, seed: 13)
        var outputs: [[Float]] = []
        for level in stride(from: best, through: 1, by: -1) {
            qk_attn_force_level(Int32(level))
            testGroupKernelsMatchTwins()
            try testTypedRowsEqualWidenedRows()
            try testHeadsSideBySideEqualOneHeadAtATime()
            var o = o0
            XCTAssertEqual(qk_attn_accumulate_typed(Int32(QK_F32), p, len, d, 2, 4, v, rowStride, len, &o, nil), 1)
            outputs.append(o)
        }
        for o in outputs.dropFirst() { XCTAssertEqual(o.map(\.bitPattern), outputs[0].map(\.bitPattern), "accumulate, AVX2 vs AVX-512") }
    }

    /// bf16 and f16 rows read in place (widened in registers) give exactly what the f32 kernels give on the same
    /// rows widened into memory first: decode with a 16-bit cache is bit-identical to the scratch path it replaced.
    func testTypedRowsEqualWidenedRows() throws {
        try XCTSkipIf(qk_attn_typed_supported(Int32(QK_BF16), 256) == 0, "no AVX-512 or AVX2: the typed kernels do not run here")
        for type in [KVType.bf16, .f16] {
            let code = KVRowReader.typedKernelCode(type)!
            for (d, len, stride) in [(256, 70, 512), (64, 9, 128), (16, 33, 16)] {
                let q = random(4 * d, seed: 1), k = random(len * stride, seed: 2), v = random(len * stride, seed: 3)
                var kStored = [UInt16](repeating: 0, count: len * stride), vStored = kStored
                var kWide = [Float](repeating: 0, count: len * stride), vWide = kWide
                kStored.withUnsafeMutableBytes { type.encode(k, into: $0.baseAddress!, count: k.count) }
                vStored.withUnsafeMutableBytes { type.encode(v, into: $0.baseAddress!, count: v.count) }
                kStored.withUnsafeBytes { type.decode($0.baseAddress!, into: &kWide, count: k.count) }
                vStored.withUnsafeBytes { type.decode($0.baseAddress!, into: &vWide, count: v.count) }
                var s = [Float](repeating: .nan, count: 4 * len), sw = s
                XCTAssertEqual(qk_attn_scores_typed(code, q, d, 1, 4, kStored, stride, len, 0.1, &s, len, nil), 1)
                XCTAssertEqual(qk_attn_scores4(q, d, kWide, stride, len, 0.1, &sw, len), 1)
                XCTAssertEqual(s, sw, "\(type) scores d=\(d) len=\(len)")
                var o = random(4 * d, seed: 4), ow = o
                XCTAssertEqual(qk_attn_accumulate_typed(code, s, len, d, 1, 4, vStored, stride, len, &o, nil), 1)
                XCTAssertEqual(qk_attn_accumulate4(sw, len, d, vWide, stride, len, &ow), 1)
                XCTAssertEqual(o, ow, "\(type) accumulate d=\(d) len=\(len)")
            }
        }
    }

    /// Several KV heads per call (each token row read once for all of them, as decode does with a split of every
    /// head) give each query head exactly what one call per KV head gives: groups of 4 and 8, 1–3 heads, runs
    /// of 1–70 rows (the 4-row blocks and the tails), rows with padding after the heads.
    func testHeadsSideBySideEqualOneHeadAtATime() throws {
        try XCTSkipIf(qk_attn_typed_supported(Int32(QK_BF16), 256) == 0, "no AVX-512 or AVX2: the typed kernels do not run here")
        for type in [KVType.f32, .bf16, .f16] {
            let code = KVRowReader.typedKernelCode(type)!
            for (heads, group, d, len) in [(2, 4, 256, 70), (3, 8, 32, 5), (1, 4, 64, 3), (2, 8, 16, 1), (2, 4, 48, 9)] {
                let stride = heads * d + 16, rows = heads * group
                let q = random(rows * d, seed: 5)
                var k = [UInt8](repeating: 0, count: type.bytes(elements: len * stride)), v = k
                k.withUnsafeMutableBytes { type.encode(random(len * stride, seed: 6), into: $0.baseAddress!, count: len * stride) }
                v.withUnsafeMutableBytes { type.encode(random(len * stride, seed: 7), into: $0.baseAddress!, count: len * stride) }
                let o0 = random(rows * d, seed: 8)
                var s = [Float](repeating: .nan, count: rows * len), sOne = s
                var o = o0, oOne = o0
                k.withUnsafeBytes { kb in v.withUnsafeBytes { vb in
                    XCTAssertEqual(qk_attn_scores_typed(code, q, d, heads, group, kb.baseAddress!, stride, len, 0.1, &s, len, nil), 1)
                    XCTAssertEqual(qk_attn_accumulate_typed(code, s, len, d, heads, group, vb.baseAddress!, stride, len, &o, nil), 1)
                    for h in 0..<heads {
                        let kh = kb.baseAddress! + type.bytes(elements: h * d), vh = vb.baseAddress! + type.bytes(elements: h * d)
                        q.withUnsafeBufferPointer { qb in sOne.withUnsafeMutableBufferPointer { sb in oOne.withUnsafeMutableBufferPointer { ob in
                            let (qh, sh, oh) = (qb.baseAddress! + h * group * d, sb.baseAddress! + h * group * len, ob.baseAddress! + h * group * d)
                            XCTAssertEqual(qk_attn_scores_typed(code, qh, d, 1, group, kh, stride, len, 0.1, sh, len, nil), 1)
                            XCTAssertEqual(qk_attn_accumulate_typed(code, sh, len, d, 1, group, vh, stride, len, oh, nil), 1)
                        } } }
                    }
                } }
                let what = "\(type) heads=\(heads) group=\(group) d=\(d) len=\(len)"
                let differ = { (a: [Float], b: [Float]) in zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count }
                XCTAssertEqual(differ(s, sOne), 0, "scores that differ, \(what)")
                XCTAssertEqual(differ(o, oOne), 0, "outputs that differ, \(what)")
                XCTAssertFalse(s.contains { $0.isNaN } || o.contains { $0.isNaN }, what)
            }
        }
    }

    /// `qk_widen16` (the vectorised widening the prefill path's scratch uses) against `KVType.decode`, over every
    /// 16-bit pattern (zeros, denormals, infinities, NaNs) and a length that is not a multiple of 16.
    func testWidenEqualsDecode() {
        let bits = (0..<65_539).map { UInt16(truncatingIfNeeded: $0 &* 40_503) }   // all 65,536 patterns, + 3
        for type in [KVType.bf16, .f16] {
            var fast = [Float](repeating: 0, count: bits.count), plain = fast
            bits.withUnsafeBytes { qk_widen16(KVRowReader.typedKernelCode(type)!, $0.baseAddress!, &fast, bits.count) }
            bits.withUnsafeBytes { type.decode($0.baseAddress!, into: &plain, count: bits.count) }
            XCTAssertEqual(fast.map(\.bitPattern), plain.map(\.bitPattern), "\(type)")
        }
    }
}
