import XCTest
import TensorCore
@testable import Kernels

/// KV storage types: the row codecs against TensorCore's plain conversions (q8_0 = ggml's
/// `quantize_row_q8_0_ref` port), and the attention kernels reading typed pages against the plain f32 twin run
/// on the same rows widened back.
final class KVTypeAttentionTests: XCTestCase {
    func random(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2000) / 1000 - 1
        }
    }

    func encoded(_ x: [Float], _ type: KVType) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: type.bytes(elements: x.count))
        x.withUnsafeBufferPointer { xp in out.withUnsafeMutableBytes { type.encode(xp.baseAddress!, into: $0.baseAddress!, count: x.count) } }
        return out
    }

    func decoded(_ bytes: [UInt8], _ type: KVType, count: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { b in out.withUnsafeMutableBufferPointer { type.decode(b.baseAddress!, into: $0.baseAddress!, count: count) } }
        return out
    }

    func testCodecsMatchThePlainConversions() {
        var x = random(256, seed: 9).map { $0 * 3 }
        x[5] = 0; x[40] = 1e-8; x[64..<96] = ArraySlice(repeating: 0, count: 32)   // a zero block: d = 0
        XCTAssertEqual(decoded(encoded(x, .f32), .f32, count: x.count), x)
        XCTAssertEqual(decoded(encoded(x, .bf16), .bf16, count: x.count), x.map { bf16ToFloat(floatToBF16($0)) })
        XCTAssertEqual(decoded(encoded(x, .f16), .f16, count: x.count), x.map { Float(Float16($0)) })
        let q8 = encoded(x, .q8_0)
        XCTAssertEqual(q8, quantizeQ8_0(x), "q8_0 bytes: ggml's reference quantisation")
        var ref = [Float](repeating: 0, count: x.count)
        q8.withUnsafeBytes { b in ref.withUnsafeMutableBufferPointer { dequantize(.q8_0, b.baseAddress!, $0.baseAddress!, count: x.count) } }
        XCTAssertEqual(decoded(q8, .q8_0, count: x.count), ref)
        XCTAssertNotEqual(ref, x, "q8_0 rounds (the test would be vacuous otherwise)")
        XCTAssertEqual(KVType.q8_0.bytes(elements: 256), 272)
    }

    func testUnknownTypeIsAnErrorNamingIt() {
        XCTAssertThrowsError(try KVType(parsing: "q4_0")) { e in
            XCTAssertEqual(e as? KVTypeError, .unknown("q4_0"))
            XCTAssertTrue("\(e)".contains("'q4_0'") && "\(e)".contains("q8_0"), "\(e)")
        }
        XCTAssertEqual(try KVType(parsing: "BF16"), .bf16)
        XCTAssertThrowsError(try KVType.q8_0.check(headDim: 48))
        XCTAssertNoThrow(try KVType.q8_0.check(headDim: 256))
    }

    /// Decode (flash-decoding splits), the small-T path and the blocked prefill path on bf16, f16 and q8_0 pages
    /// of 7 and 64 tokens, against the plain twin on the widened rows.
    func testTypedPagesMatchReferenceOnWidenedRows() {
        for type in [KVType.bf16, .f16, .q8_0] {
            // 2,600 keys: 6 flash-decoding splits, ≥ 2 per thread, so a work item reads a split of every KV head.
            for (t, cached, hq, hkv, d) in [(1, 1299, 16, 2, 32), (1, 2599, 8, 2, 32), (1, 100, 8, 2, 64), (3, 40, 8, 2, 64),
                                             (70, 5, 8, 2, 32)] {
                let n = cached + t, row = hkv * d, rowBytes = hkv * type.bytes(elements: d)
                let q = random(t * hq * d, seed: 1), k = random(n * row, seed: 2), v = random(n * row, seed: 3)
                let kw = decoded(encoded(k, type), type, count: k.count), vw = decoded(encoded(v, type), type, count: v.count)
                XCTAssertNotEqual(kw, k, "\(type) rounds the keys")
                let ref = causalAttentionReference(q: q, keys: kw, values: vw, tokens: t, cached: cached, queryHeads: hq,
                                                   kvHeads: hkv, headDim: d, scale: 1 / Float(d).squareRoot())
                for pt in [7, 64] {
                    let pages = (n + pt - 1) / pt
                    func paged(_ x: [Float]) -> [UnsafeMutableRawPointer] {
                        (0..<pages).map { p in
                            let b = UnsafeMutableRawPointer.allocate(byteCount: pt * rowBytes, alignment: 64)
                            b.initializeMemory(as: UInt8.self, repeating: 0xFF, count: pt * rowBytes)   // NaN in every type
                            let rows = min(pt, n - p * pt)
                            x.withUnsafeBufferPointer { type.encode($0.baseAddress! + p * pt * row, into: b, count: rows * row) }
                            return b
                        }
                    }
                    let kp = paged(k), vp = paged(v)
                    defer { kp.forEach { $0.deallocate() }; vp.forEach { $0.deallocate() } }
                    func run(threads: Int) -> [Float] {
                        var out = [Float](repeating: 0, count: t * hq * d)
                        q.withUnsafeBufferPointer { qb in out.withUnsafeMutableBufferPointer { ob in
                            causalAttention(q: qb.baseAddress!, pages: KVPages(keys: kp.map { UnsafeRawPointer($0) },
                                                                               values: vp.map { UnsafeRawPointer($0) }, pageTokens: pt, type: type),
                                            out: ob.baseAddress!, tokens: t, cached: cached, queryHeads: hq, kvHeads: hkv, headDim: d,
                                            scale: 1 / Float(d).squareRoot(), pool: ThreadPool(threads: threads))
                        } }
                        return out
                    }
                    let out = run(threads: 2)
                    if t == 1 {
                        // Decode: 1 or 3 threads make other work items (one head or every head per split): same bits.
                        for threads in [1, 3] {
                            XCTAssertEqual(run(threads: threads).map(\.bitPattern), out.map(\.bitPattern),
                                           "\(type) pages of \(pt): \(threads) threads vs 2, cached=\(cached)")
                        }
                    }
                    XCTAssertFalse(out.contains { $0.isNaN }, "\(type) pages of \(pt): a NaN (a row past the end was read)")
                    let err = zip(out, ref).map { abs($0 - $1) }.max()!
                    XCTAssertLessThanOrEqual(err, 1e-5, "\(type) pages of \(pt): T=\(t) cached=\(cached) Hq=\(hq) Hkv=\(hkv) D=\(d)")
                }
            }
        }
    }
}
