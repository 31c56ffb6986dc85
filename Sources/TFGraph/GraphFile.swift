import Foundation
import TensorCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading a graph file whole, its size checked before a byte is read: protobuf messages are decoded from memory,
/// so a file too big to be a graph must be refused before it is loaded.
enum GraphFile {
    static func read(_ path: String, limits: GraphLimits) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = errno == ENOENT ? "no such file" : "cannot be opened (\(String(cString: strerror(errno))))"
            throw GraphError.unreadable(path: path, reason: reason)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw GraphError.unreadable(path: path, reason: "cannot be examined (fstat failed)")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw GraphError.unreadable(path: path, reason: "not a regular file")
        }
        let size = Int(status.st_size)
        guard size <= limits.maxFileBytes else {
            throw GraphError.tooLarge(path: path, size: size, limit: limits.maxFileBytes)
        }
        switch FileIO.read(descriptor, count: size, at: 0) {
        case .success(let bytes): return bytes
        case .failure(let failure):
            throw GraphError.unreadable(path: path, reason: "read failed: \(failure.description)")
        }
    }
}

/// A message that is a whole graph file by itself (`GraphDef`'s frozen `.pb`, `MetaGraphDef`'s `.meta`).
public protocol GraphFileMessage {
    /// Decodes the message from a file's bytes; `path` names the file in errors.
    static func decode(_ bytes: ArraySlice<UInt8>, path: String, limits: GraphLimits) throws -> Self
}

extension GraphFileMessage {
    /// Reads the file at `path` and decodes it, refusing files over `limits.maxFileBytes` unread.
    public static func read(contentsOf path: String, limits: GraphLimits = .standard) throws -> Self {
        let bytes = try GraphFile.read(path, limits: limits)
        return try decode(bytes[...], path: path, limits: limits)
    }
}
