#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JSON

/// A read-only memory mapping of a whole file. The mapping lives exactly as long as this object: tensor
/// views (`WeightTensor.owner`) retain it, and a store that fails to open simply drops it, so an error never
/// leaves anything mapped.
final class MappedFile: @unchecked Sendable {
    /// The path as given (used in error messages).
    let path: String
    /// Start of the mapping; `nil` only for an empty file, which cannot be mapped.
    let base: UnsafeRawPointer?
    let size: Int

    init(path: String) throws {
        self.path = path
        // InputFile opens non-blocking and refuses anything but a regular file (a FIFO used to block here).
        let fd: Int32
        do { (fd, size) = try InputFile.open(path) } catch let e as InputFileError {
            if e.kind == .notFound { throw WeightStoreError.fileNotFound(path: path) }
            throw WeightStoreError.cannotRead(path: path, reason: e.reason)
        }
        defer { close(fd) }
        if size == 0 {
            base = nil
            return
        }
        // MAP_PRIVATE + PROT_READ: pages come from the page cache on first touch; nothing is read up front.
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw WeightStoreError.cannotRead(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// The bytes `range` of the file (must lie inside it).
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= size, "\(path): byte range \(range) outside \(size)")
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }
}
