import CKernels
import TensorCore

/// Keys and values stored in fixed-size pages (token-major `[pageTokens, Hkv, D]` each, in `type`): key j lives
/// in page j / pageTokens. A contiguous cache is one page as long as the context.
public struct KVPages {
    public let keys: [UnsafeRawPointer]
    public let values: [UnsafeRawPointer]
    public let pageTokens: Int
    public let type: KVType

    public init(keys: [UnsafeRawPointer], values: [UnsafeRawPointer], pageTokens: Int, type: KVType) {
        precondition(keys.count == values.count && pageTokens > 0, "KVPages: \(keys.count) key and \(values.count) value pages")
        self.keys = keys
        self.values = values
        self.pageTokens = pageTokens
        self.type = type
    }

    /// f32 pages.
    public init(keys: [UnsafePointer<Float>], values: [UnsafePointer<Float>], pageTokens: Int) {
        self.init(keys: keys.map { UnsafeRawPointer($0) }, values: values.map { UnsafeRawPointer($0) },
                  pageTokens: pageTokens, type: .f32)
    }
}

/// Reads runs of one KV head's rows as f32 for the attention kernels: f32 pages are read in place (row stride
/// Hkv·D); other types are widened run by run into a scratch of `maxRows` rows (stride D), so the kernels' f32
/// inner loops serve every type and the scratch does not grow with the context.
struct KVRowReader {
    let pages: KVPages
    let kvHead: Int, kvHeads: Int, headDim: Int
    let scratch: UnsafeMutablePointer<Float>?   // [maxRows, D]; nil for f32, or when only `storedRows` is read
    let headBytes: Int                          // bytes of one head's row in `pages.type`

    init(_ pages: KVPages, kvHead: Int, kvHeads: Int, headDim: Int, scratch: UnsafeMutablePointer<Float>?) {
        self.pages = pages
        self.kvHead = kvHead
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.scratch = pages.type == .f32 ? nil : scratch
        headBytes = pages.type.bytes(elements: headDim)
    }

    /// Scratch floats a reader needs for runs of up to `rows` rows (0 for f32).
    static func scratchFloats(_ type: KVType, rows: Int, headDim: Int) -> Int { type == .f32 ? 0 : rows * headDim }

    /// Rows `j ..< j + count` (within one page: `count ≤ pageTokens − j % pageTokens`) of keys (`values` false) or
    /// values, as `(base, stride)`: row i at `base + i · stride`.
    func rows(_ j: Int, _ count: Int, values: Bool) -> (UnsafePointer<Float>, Int) {
        let pt = pages.pageTokens, page = (values ? pages.values : pages.keys)[j / pt]
        let tokenBytes = kvHeads * headBytes
        let first = page + (j % pt) * tokenBytes + kvHead * headBytes
        guard let s = scratch else {
            precondition(pages.type == .f32, "KVRowReader: widening \(pages.type) rows needs a scratch")
            return (first.assumingMemoryBound(to: Float.self), kvHeads * headDim)
        }
        if let code = Self.typedKernelCode(pages.type) {   // f32 returned above: bf16 / f16 here
            // bf16 / f16: the vectorised widening (exact, so the same values as `KVType.decode`).
            for i in 0..<count { qk_widen16(code, first + i * tokenBytes, s + i * headDim, headDim) }
        } else {
            for i in 0..<count { pages.type.decode(first + i * tokenBytes, into: s + i * headDim, count: headDim) }
        }
        return (UnsafePointer(s), headDim)
    }

    /// Rows `j ..< j + count` (within one page) as stored, with their stride in elements of `pages.type`: for
    /// the kernels that widen in registers (`typedKernelCode`).
    func storedRows(_ j: Int, values: Bool) -> (UnsafeRawPointer, Int) {
        let pt = pages.pageTokens, page = (values ? pages.values : pages.keys)[j / pt]
        return (page + (j % pt) * kvHeads * headBytes + kvHead * headBytes, kvHeads * headDim)
    }

    /// The C kernels' code for reading this type in place (f32, bf16, f16), nil for block types (q8_0), which
    /// are widened into the scratch.
    static func typedKernelCode(_ type: KVType) -> Int32? {
        switch type {
        case .f32: Int32(QK_F32)
        case .bf16: Int32(QK_BF16)
        case .f16: Int32(QK_F16)
        case .q8_0: nil
        }
    }

    /// Length of the run starting at key `j` that stays in one page and before `end`.
    func run(_ j: Int, end: Int) -> Int { min(pages.pageTokens - j % pages.pageTokens, end - j) }
}
