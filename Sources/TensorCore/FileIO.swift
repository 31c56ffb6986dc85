#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bytes of a file that are a tensor's bytes exactly as a model stores them (little-endian, C order): what a writer
/// can copy from file to file without reading them into memory.
public struct FileRange: Sendable, Equatable {
    /// The file the bytes are read from.
    public var path: String
    /// The tensor within it, for errors.
    public var member: String
    public var offset: Int
    public var count: Int
    /// The file as errors name it: `path`, or what the user knows it as when `path` is a private extraction (the
    /// weights of a `.keras` archive: `model.keras: model.weights.h5`).
    public var displayPath: String

    public init(path: String, member: String, offset: Int, count: Int, displayPath: String? = nil) {
        self.path = path
        self.member = member
        self.offset = offset
        self.count = count
        self.displayPath = displayPath ?? path
    }
}

/// A failed read or write: the error number, and the words for it (`EIO` from a read means the file ended first).
public struct FileIOError: Error, Equatable {
    public var number: Int32
    public var description: String {
        number == EIO ? "the file ends early (truncated, or changed meanwhile?)" : String(cString: strerror(number))
    }
}

/// Linux's file-to-file copy and write-back calls, and reading files through windows of mapped pages.
///
/// `copy_file_range(2)`, `sync_file_range(2)` and `fallocate(2)` are GNU extensions Swift's Glibc module does not
/// declare; they are looked up in libc at run time (the package keeps no C target of its own), and callers fall back
/// to `pread`/`write` (or, for `fallocate`, to writing without preallocation) where they are missing or refused.
public enum FileIO {
    private typealias CopyFileRange =
        @convention(c) (Int32, UnsafeMutablePointer<Int64>?, Int32, UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int
    private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    private typealias Fallocate = @convention(c) (Int32, Int32, Int64, Int64) -> Int32

    private static let copyFileRange: CopyFileRange? = symbol("copy_file_range")
    private static let syncFileRange: SyncFileRange? = symbol("sync_file_range")
    private static let fallocate: Fallocate? = symbol("fallocate")

    private static func symbol<T>(_ name: String) -> T? {
        #if os(Linux)
            // RTLD_DEFAULT is the null handle in glibc.
            guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
            return unsafeBitCast(address, to: T.self)
        #else
            return nil
        #endif
    }

    /// `count` bytes of `descriptor` from `offset` (`readFully`), or the error number: `EIO` when the file ends first.
    public static func read(_ descriptor: Int32, count: Int, at offset: Int) -> Result<[UInt8], FileIOError> {
        var bytes = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return .success(bytes) }
        let failure = bytes.withUnsafeMutableBytes {
            readFully(descriptor, into: $0.baseAddress!, count: count, at: offset)
        }
        return failure.map { .failure(FileIOError(number: $0)) } ?? .success(bytes)
    }

    /// Copies `count` bytes from `source` at `sourceOffset` to `destination` at `destinationOffset`, in the kernel
    /// where it can (`copy_file_range`), else through a buffer. Returns the error number of a failed call, or nil.
    /// A source shorter than it should be is reported as `EIO` (the caller checked its size first).
    public static func copy(
        from source: Int32, at sourceOffset: Int, to destination: Int32, at destinationOffset: Int, count: Int
    ) -> Int32? {
        var done = 0
        if let copyFileRange {
            var input = Int64(sourceOffset)
            var output = Int64(destinationOffset)
            while done < count {
                let n = copyFileRange(source, &input, destination, &output, min(count - done, 1 << 30), 0)
                if n < 0 && errno == EINTR { continue }
                if n < 0 && done == 0 && [EXDEV, ENOSYS, EINVAL, EOPNOTSUPP, EPERM].contains(errno) { break }
                if n < 0 { return errno }
                if n == 0 { return EIO }
                done += n
            }
            if done == count { return nil }
        }
        let copied = done
        var writeFailure: Int32?
        let readFailure = withBlocks(source, offset: sourceOffset + copied, count: count - copied, block: 4 << 20) {
            block, position in
            guard writeFailure == nil else { return }
            writeFailure = writeFully(destination, block, at: destinationOffset + copied + position)
        }
        return readFailure ?? writeFailure
    }

    /// Starts write-back of a range of `descriptor` without waiting for it (`sync_file_range` with
    /// `SYNC_FILE_RANGE_WRITE`), so a later `fsync` has less left to wait for. Best effort.
    public static func startWriteBack(_ descriptor: Int32, offset: Int, count: Int) {
        guard let syncFileRange else { return }
        _ = syncFileRange(descriptor, Int64(offset), Int64(count), 2)  // SYNC_FILE_RANGE_WRITE
    }

    /// Allocates the disk blocks of the first `count` bytes of `descriptor` without changing its size (`fallocate` with
    /// `FALLOC_FL_KEEP_SIZE`): the writes that follow fill blocks already there instead of reserving each one as it
    /// comes (ext4's delayed allocation: 103 MB written in 1 MiB pieces and synced took 29–41 ms of system time on a
    /// Zen 5 machine, 20–30 ms preallocated), and a disk without room says so before anything is written. Returns the error number, or nil;
    /// `EOPNOTSUPP` (a file system without it) and a libc without the call (`ENOSYS`) leave the file as it was.
    public static func reserve(_ descriptor: Int32, count: Int) -> Int32? {
        guard count > 0 else { return nil }
        guard let fallocate else { return ENOSYS }
        while true {
            if fallocate(descriptor, 1, 0, Int64(count)) == 0 { return nil }  // FALLOC_FL_KEEP_SIZE
            if errno != EINTR { return errno }
        }
    }

    /// Calls `body` with consecutive blocks of `count` bytes of `descriptor` from `offset`, read with `pread` into one
    /// buffer of at most `block` bytes, and each block's position within the range: a file of any size is read in the
    /// memory of one block.
    /// - Returns: the error number of a failed read (`EIO` for a file that ends early), or nil.
    public static func withBlocks(
        _ descriptor: Int32, offset: Int, count: Int, block: Int = 1 << 20,
        _ body: (_ bytes: UnsafeRawBufferPointer, _ position: Int) throws -> Void
    ) rethrows -> Int32? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, min(block, count)), alignment: 64)
        defer { buffer.deallocate() }
        var position = 0
        while position < count {
            let length = min(buffer.count, count - position)
            // The buffer is at least one byte, so it has a base address.
            if let failure = readFully(descriptor, into: buffer.baseAddress!, count: length, at: offset + position) {
                return failure
            }
            try body(UnsafeRawBufferPointer(start: buffer.baseAddress, count: length), position)
            position += length
        }
        return nil
    }

    /// Whether `count` bytes of `first` at `firstOffset` equal those of `second` at `secondOffset`, read block by
    /// block; nil when either could not be read.
    public static func equalBytes(
        _ first: Int32, at firstOffset: Int, _ second: Int32, at secondOffset: Int, count: Int
    ) -> Bool? {
        let block = 1 << 20
        let other = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, min(block, count)), alignment: 64)
        defer { other.deallocate() }
        var equal = true
        var unreadable = false
        let failure = withBlocks(first, offset: firstOffset, count: count, block: block) { bytes, position in
            guard equal, !unreadable else { return }
            if readFully(second, into: other.baseAddress!, count: bytes.count, at: secondOffset + position) != nil {
                unreadable = true
            } else {
                equal = memcmp(bytes.baseAddress!, other.baseAddress!, bytes.count) == 0
            }
        }
        return failure == nil && !unreadable ? equal : nil
    }

    /// `pread` until `count` bytes are in; the error number, `EIO` when the file ends first, or nil.
    public static func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int)
        -> Int32?
    {
        var done = 0
        while done < count {
            let n = pread(descriptor, buffer + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno }
            if n == 0 { return EIO }
            done += n
        }
        return nil
    }

    /// `pwrite` until every byte of `bytes` is out at `offset`; the error number (`EIO` for a write that makes no
    /// progress), or nil.
    public static func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int32? {
        var done = 0
        while done < bytes.count {
            // Non-empty here, so the base address exists.
            let n = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno }
            if n == 0 { return EIO }
            done += n
        }
        return nil
    }

    /// `writeFully` for bytes in an array.
    public static func writeFully(_ descriptor: Int32, _ bytes: [UInt8], at offset: Int) -> Int32? {
        bytes.withUnsafeBytes { writeFully(descriptor, $0, at: offset) }
    }
}
