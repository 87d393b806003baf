#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSON

/// A read-only memory mapping of a whole GGUF file, alive exactly as long as this object (tensor views
/// retain it). Pages come from the page cache on first touch; nothing is read up front.
final class GGUFMapping: @unchecked Sendable {
    let base: UnsafeRawPointer?
    let size: Int

    init(path: String) throws {
        // InputFile opens non-blocking and refuses anything but a regular file (a FIFO would block in open()).
        let fd: Int32
        do { (fd, size) = try InputFile.open(path) } catch let e as InputFileError {
            if e.kind == .notFound { throw GGUFError.fileNotFound(path: path) }
            throw GGUFError.cannotRead(path: path, reason: e.reason)
        }
        defer { close(fd) }
        if size == 0 { base = nil; return }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw GGUFError.cannotRead(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit { if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) } }

    /// Drops the resident pages wholly inside `[p, p + count)` from this process (MADV_DONTNEED; the mapping
    /// stays valid and would read the file again on a touch). For tensors repacked into memory at load, so that
    /// the original and the copy are not both counted. Pages shared with a neighbouring tensor are kept.
    func release(_ p: UnsafeRawPointer, count: Int) {
        guard let base, p >= base, count > 0, p + count <= base + size else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: p) + page - 1) / page * page, end = (Int(bitPattern: p) + count) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, Int32(MADV_DONTNEED))
    }
}
