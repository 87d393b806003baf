#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The calling thread's stack, so that deep evaluation ends in an error before the stack overflows.
///
/// `maxEvaluationDepth` bounds recursion in levels, but what a level costs in bytes depends on the build: an
/// optimised build nests 1024 levels of macro recursion in about 2 MiB, an unoptimised AddressSanitizer build
/// (the fuzz check) needed more than the main thread's 8 MiB, and a worker thread may have far less stack than
/// the main one. So past `checkedDepth` levels the evaluator also measures the stack that is left and stops
/// with a render error while `reserve` bytes remain (room for the deepest non-evaluator work below a level:
/// a filter's own recursion such as `tojson` on a 512-deep value).
struct StackGuard {
    /// Levels below this are not measured (unoptimised builds spend kilobytes per level, so measuring starts
    /// early: a 512 KiB thread must not overflow before the first check).
    static let checkedDepth = 8
    /// The stack's lowest address, and the lowest one evaluation may reach (it grows down); nil when the
    /// bounds are unknown.
    let low: UInt
    let limit: UInt?

    /// Measures the current thread's stack (glibc reads the main thread's from /proc/self/maps: done once per
    /// render, and only when a render nests past `checkedDepth`).
    init() {
        let (low, size) = Self.currentStack() ?? (0, 0)
        self.low = low
        limit = size > 0 ? low + Self.reserve(stackSize: size) : nil
    }

    /// The lowest address and size of the calling thread's stack.
    static func currentStack() -> (low: UInt, size: UInt)? {
        #if canImport(Glibc)
        // pthread_getattr_np is a GNU extension the Glibc module does not import: looked up by name.
        typealias GetAttr = @convention(c) (pthread_t, UnsafeMutablePointer<pthread_attr_t>) -> Int32
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "pthread_getattr_np") else { return nil }
        let getattr = unsafeBitCast(symbol, to: GetAttr.self)
        var attr = pthread_attr_t()
        guard getattr(pthread_self(), &attr) == 0 else { return nil }
        defer { pthread_attr_destroy(&attr) }
        var base: UnsafeMutableRawPointer?
        var bytes = 0
        guard pthread_attr_getstack(&attr, &base, &bytes) == 0, let base else { return nil }
        return (UInt(bitPattern: base), UInt(bytes))
        #elseif canImport(Darwin)
        let top = UInt(bitPattern: pthread_get_stackaddr_np(pthread_self()))
        let size = UInt(pthread_get_stacksize_np(pthread_self()))
        return (top - size, size)
        #else
        return nil
        #endif
    }

    /// Bytes kept free below the deepest evaluation level: an eighth of the stack, at least 64 KiB.
    static func reserve(stackSize: UInt) -> UInt { max(stackSize / 8, 64 << 10) }

    /// True while the stack pointer is above the limit. An address outside the thread's stack (AddressSanitizer
    /// may keep locals on a heap "fake stack") is not a measurement: the depth limit alone applies then.
    func hasRoom() -> Bool {
        guard let limit else { return true }
        var marker: UInt8 = 0
        let sp = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
        return sp >= limit || sp < low
    }
}
