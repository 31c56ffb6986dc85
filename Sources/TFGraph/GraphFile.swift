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
