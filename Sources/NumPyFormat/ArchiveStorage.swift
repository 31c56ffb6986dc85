import Foundation
import TensorCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An archive's bytes: held in memory (archives built or fuzzed in memory), or left in their file and read range by
/// range with `pread`, so a multi-gigabyte archive costs the memory of one member, not of the file.
///
/// Every read is bounds-checked against the size the storage had when opened; one owner of the descriptor (closed in
/// `deinit`).
final class ArchiveStorage: @unchecked Sendable {
    // Immutable after init; `pread` on one descriptor from several threads is safe.
    let path: String
    let count: Int
    private let memory: [UInt8]?
    private let descriptor: Int32

    init(bytes: [UInt8], path: String) {
        self.path = path
        count = bytes.count
        memory = bytes
        descriptor = -1
    }

    /// Opens `path` for reading by range (`FileIO.openRegularFile`: a FIFO or a device is refused, never waited on).
    /// - Throws: `NPYError.unreadable` when it is missing, a directory or another special file, or cannot be opened.
    init(path: String) throws {
        switch FileIO.openRegularFile(path) {
        case .success(let opened):
            self.path = path
            descriptor = opened.descriptor
            count = opened.size
            memory = nil
        case .failure(let failure):
            throw NPYError.unreadable(path: path, detail: failure.reason)
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The bytes of `range`, which the caller has checked lies within `0..<count`.
    /// - Throws: `NPYError.unreadable` when the file cannot be read or has shrunk since it was opened.
    func read(_ range: Range<Int>) throws -> [UInt8] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "archive read outside the file")
        if let memory { return Array(memory[range]) }
        switch FileIO.read(descriptor, count: range.count, at: range.lowerBound) {
        case .success(let bytes): return bytes
        case .failure(let failure):
            throw NPYError.unreadable(path: path, detail: "cannot read the file: \(failure.description)")
        }
    }

    /// The bytes of `range` clamped to the file: up to `range.count` bytes from `range.lowerBound`.
    func read(upTo count: Int, from offset: Int) throws -> [UInt8] {
        let start = min(max(offset, 0), self.count)
        return try read(start..<min(self.count, start + max(count, 0)))
    }
}
