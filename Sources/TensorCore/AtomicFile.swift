import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An output file written beside its destination and renamed into place only when complete and checked, so a failed
/// or interrupted run never leaves half a file or damages an existing one.
///
/// The temporary file `.NAME.tmp-<random>` is created with `O_EXCL` and mode 0600, held under an exclusive `flock`
/// while it is written, and registered with `TemporaryFiles` so SIGINT/SIGTERM remove it. `commit` syncs it, lets the
/// caller re-read and check it, gives it the permissions a plain create would have, renames it over the destination
/// and syncs the directory. A file that is never committed is removed when this object goes away. One owner of the
/// descriptor: this class.
public final class AtomicFile {
    /// The destination as the caller named it.
    public let path: String
    /// Where the bytes go until `commit`.
    public let temporaryPath: String
    private let directory: String
    private var descriptor: Int32
    private var committed = false

    /// Creates the temporary file beside `path`, first removing any a killed earlier writer of `path` left behind.
    /// - Throws: `FileError` naming `path` when its directory is missing or the file cannot be created.
    public init(replacing path: String) throws(FileError) {
        let destination = URL(fileURLWithPath: path)
        self.path = path
        directory = destination.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError(path: path, reason: "cannot be written: directory '\(directory)' does not exist")
        }
        try Self.checkReplaceable(path)
        let prefix = ".\(destination.lastPathComponent).tmp-"
        TemporaryFiles.removeAbandoned(prefix: prefix, in: directory)
        temporaryPath = directory + "/" + prefix + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        // Registered before it exists: a signal that lands just after the file is created still removes it.
        TemporaryFiles.register(temporaryPath)
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = "cannot create a temporary file in '\(directory)': \(Self.errorText())"
            TemporaryFiles.unregister(temporaryPath)
            throw FileError(path: path, reason: reason)
        }
        // Held until the file is renamed or removed: a later writer that can take this lock knows this one is gone.
        _ = flock(descriptor, LOCK_EX | LOCK_NB)
    }

    deinit {
        guard !committed else { return }
        if descriptor >= 0 { close(descriptor) }
        unlink(temporaryPath)
        TemporaryFiles.unregister(temporaryPath)
    }

    /// Bytes written so far: where the next `write` or `copy` puts its bytes.
    public private(set) var size = 0
    /// Where write-back was last started (see `write`).
    private var writeBackStart = 0

    /// Appends `bytes` (`pwrite(2)` until all are out); a full disk or an I/O error throws.
    public func write(_ bytes: [UInt8]) throws(FileError) {
        // Moves the end of the file past the bytes.
        try write(bytes, at: size)
        startWriteBack()
    }

    /// Replaces bytes already written (a header completed at the end), without moving the end of the file.
    public func overwrite(_ bytes: [UInt8], at offset: Int) throws(FileError) {
        precondition(offset >= 0 && offset + bytes.count <= size, "overwrite past the bytes written")
        try write(bytes, at: offset)
    }

    /// Writes `bytes` at `offset`, anywhere at or past the header already written: a file whose parts are produced out
    /// of order (tensors copied in the order their source stores them). The end of the file moves to the furthest byte
    /// written; write-back is left to `startWriteBack(through:)`, since only the caller knows which bytes are final.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(FileError) {
        precondition(offset >= 0, "a write before the start of the file")
        if let failure = FileIO.writeFully(descriptor, bytes, at: offset) {
            throw FileError(path: path, reason: "cannot be written: \(String(cString: strerror(failure)))")
        }
        size = max(size, offset + bytes.count)
    }

    /// Writes `count` bytes of the file open as `source` from `offset` at `destination` (by default the end: an
    /// append), copied in the kernel where it can (`FileIO.copy`). An error reading the source is the caller's to name,
    /// so it comes back as an error number.
    /// - Throws: `FileError` naming this file when writing fails; returns the source's error number, or nil.
    public func copy(from source: Int32, offset: Int, count: Int, at destination: Int? = nil) throws(FileError)
        -> Int32?
    {
        let start = destination ?? size
        if let failure = FileIO.copy(from: source, at: offset, to: descriptor, at: start, count: count) {
            // Errors only the destination can cause are this file's.
            if [ENOSPC, EDQUOT, EFBIG, EROFS].contains(failure) {
                throw FileError(path: path, reason: "cannot be written: \(String(cString: strerror(failure)))")
            }
            return failure
        }
        size = max(size, start + count)
        if destination == nil { startWriteBack() }
        return nil
    }

    /// Allocates the disk space of a file of `count` bytes before it is written (`FileIO.reserve`; the size stays what
    /// has been written), so the writes are cheaper and a full disk fails here, before any byte is written.
    /// - Throws: `FileError` naming this file when the disk or the quota has no room or the file would be too large;
    ///   a file system that cannot preallocate is written as before.
    public func reserve(_ count: Int) throws(FileError) {
        guard let failure = FileIO.reserve(descriptor, count: count), [ENOSPC, EDQUOT, EFBIG].contains(failure) else {
            return
        }
        throw FileError(
            path: path, reason: "cannot be written: \(String(cString: strerror(failure))) (\(count) bytes needed)")
    }

    /// `write(_:at:)` for bytes in an array.
    public func write(_ bytes: [UInt8], at offset: Int) throws(FileError) {
        let failure: FileError? = bytes.withUnsafeBytes { raw in
            do throws(FileError) { try write(raw, at: offset) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    /// Starts write-back of every full 8 MiB written since the last call, so the disk works while the rest is
    /// produced and `commit`'s fsync has only the tail left to wait for.
    private func startWriteBack() { startWriteBack(through: size) }

    /// Starts write-back of every full 8 MiB of the first `end` bytes not yet started, for a caller that knows those
    /// bytes are final (written out of order, they are complete only up to some point).
    public func startWriteBack(through end: Int) {
        let chunk = 8 << 20
        guard end - writeBackStart >= chunk else { return }
        let end = end - end % chunk
        FileIO.startWriteBack(descriptor, offset: writeBackStart, count: end - writeBackStart)
        writeBackStart = end
    }

    /// Syncs and closes the file, runs `check` on it (a re-read that throws when it is not what was meant), then
    /// renames it over the destination and syncs the directory. On any error the temporary file is removed.
    public func commit(check: (_ temporaryPath: String) throws -> Void) throws {
        guard fsync(descriptor) == 0 else { throw FileError(path: path, reason: "cannot sync: \(Self.errorText())") }
        close(descriptor)
        descriptor = -1
        try check(temporaryPath)
        chmod(temporaryPath, 0o666 & ~Self.currentUmask())
        // Again right before the rename: what is there now is what gets replaced.
        try Self.checkReplaceable(path)
        guard rename(temporaryPath, path) == 0 else {
            throw FileError(path: path, reason: "cannot rename into place: \(Self.errorText())")
        }
        committed = true
        TemporaryFiles.unregister(temporaryPath)
        // Makes the rename durable; best effort, since the data itself is already synced.
        let directoryDescriptor = open(directory, O_RDONLY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Refuses a destination that exists and is neither a regular file nor a symbolic link (`lstat`): a rename over
    /// a device, a FIFO, a socket or a directory would replace the node itself (as root, `/dev/null`). A symbolic
    /// link is replaced by the new file; what it points to is left alone.
    /// - Throws: `FileError` naming `path`.
    private static func checkReplaceable(_ path: String) throws(FileError) {
        guard let kind = FileIO.kind(of: path, followingLinks: false), kind != .regular, kind != .symbolicLink else {
            return
        }
        throw FileError(path: path, reason: "cannot be written: is \(kind.description), not a regular file")
    }

    private static func currentUmask() -> mode_t {
        let mask = umask(0o022)
        umask(mask)
        return mask
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
