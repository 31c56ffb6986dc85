#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a user's path could not be opened as what it should be: the words for the error line (`no such file`,
/// `is a FIFO (named pipe), not a regular file`), and the error number when a call failed.
public struct OpenFailure: Error, Equatable, Sendable {
    public var reason: String
    /// `ENOENT` for a missing path, `EISDIR` for a directory where a file belongs, `EINVAL` for another special file.
    public var number: Int32
}

/// What kind of thing a path is (from `st_mode`), for telling a user why it is refused.
public enum FileKind: Sendable, Equatable {
    case regular, directory, fifo, characterDevice, blockDevice, socket, symbolicLink, other

    public init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .fifo
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        case S_IFSOCK: self = .socket
        case S_IFLNK: self = .symbolicLink
        default: self = .other
        }
    }

    /// `a FIFO (named pipe)`, `a character device`, …
    public var description: String {
        switch self {
        case .regular: "a regular file"
        case .directory: "a directory"
        case .fifo: "a FIFO (named pipe)"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .socket: "a socket"
        case .symbolicLink: "a symbolic link"
        case .other: "a special file"
        }
    }
}

extension FileIO {
    /// Opens `path` read-only and returns the descriptor (the caller owns it) and the file's size, refusing anything
    /// but a regular file.
    ///
    /// The open uses `O_NONBLOCK`, so a FIFO (or a device) cannot hold the process in `open(2)`; `fstat` on the
    /// descriptor then refuses it, and for a regular file `O_NONBLOCK` is cleared again (`fcntl`). `O_NOCTTY` keeps a
    /// terminal device from becoming the controlling terminal. Symbolic links are followed, as a plain `open` does.
    public static func openRegularFile(_ path: String) -> Result<(descriptor: Int32, size: Int), OpenFailure> {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard descriptor >= 0 else { return .failure(openFailure(path, errno)) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let number = errno
            close(descriptor)
            return .failure(
                OpenFailure(reason: "cannot be examined: \(String(cString: strerror(number)))", number: number))
        }
        let kind = FileKind(mode: status.st_mode)
        guard kind == .regular else {
            close(descriptor)
            return .failure(refusal(kind, expected: "a regular file"))
        }
        let flags = fcntl(descriptor, F_GETFL)
        if flags >= 0 { _ = fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK) }
        return .success((descriptor, Int(status.st_size)))
    }

    /// Checks that `path` is a regular file by opening it as `openRegularFile` does and closing it again: for paths
    /// handed to a library that opens them by name (libhdf5), which would block on a FIFO.
    public static func checkRegularFile(_ path: String) -> OpenFailure? {
        switch openRegularFile(path) {
        case .success(let opened):
            close(opened.descriptor)
            return nil
        case .failure(let failure):
            return failure
        }
    }

    /// Checks that `path` is a directory (following symbolic links), for sources that are directories.
    public static func checkDirectory(_ path: String) -> OpenFailure? {
        var status = stat()
        guard stat(path, &status) == 0 else { return openFailure(path, errno) }
        let kind = FileKind(mode: status.st_mode)
        return kind == .directory ? nil : refusal(kind, expected: "a directory")
    }

    /// The whole of the regular file at `path`, refused without reading when it is larger than `limit` bytes.
    public static func readRegularFile(_ path: String, limit: Int) -> Result<[UInt8], OpenFailure> {
        let descriptor: Int32
        let size: Int
        switch openRegularFile(path) {
        case .success(let opened): (descriptor, size) = opened
        case .failure(let failure): return .failure(failure)
        }
        defer { close(descriptor) }
        guard size <= limit else {
            return .failure(
                OpenFailure(reason: "is \(size) bytes, more than the \(limit) bytes allowed for it", number: EFBIG))
        }
        return read(descriptor, count: size, at: 0).mapError {
            OpenFailure(reason: "cannot be read: \($0.description)", number: $0.number)
        }
    }

    /// The kind of what `path` names (`stat`, or `lstat` when not `followingLinks`); nil when nothing is there.
    public static func kind(of path: String, followingLinks: Bool = true) -> FileKind? {
        var status = stat()
        let result = followingLinks ? stat(path, &status) : lstat(path, &status)
        return result == 0 ? FileKind(mode: status.st_mode) : nil
    }

    private static func refusal(_ kind: FileKind, expected: String) -> OpenFailure {
        OpenFailure(
            reason: kind == .directory ? "is a directory, not a file" : "is \(kind.description), not \(expected)",
            number: kind == .directory ? EISDIR : EINVAL)
    }

    private static func openFailure(_ path: String, _ number: Int32) -> OpenFailure {
        switch number {
        case ENOENT: return OpenFailure(reason: "no such file", number: number)
        case ENXIO:
            // A socket (or a FIFO with no writer when opened for writing) cannot be opened at all.
            if let kind = kind(of: path), kind != .regular { return refusal(kind, expected: "a regular file") }
            fallthrough
        default:
            return OpenFailure(reason: "cannot be opened: \(String(cString: strerror(number)))", number: number)
        }
    }
}
