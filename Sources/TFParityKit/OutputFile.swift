import Foundation
import TensorCore

#if canImport(Glibc)
    import Glibc
#endif

/// Writing a report file (HTML, JUnit) the way the model file is written: a temporary file beside the destination,
/// renamed into place only when complete, so a failed run never leaves half a file or damages an existing one.
public enum OutputFile {
    public static func write(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(UUID().uuidString.prefix(8))")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw FileError(path: path, reason: "cannot be written: directory '\(directory.path)' does not exist")
        }
        TemporaryFiles.register(temporary.path)
        defer { TemporaryFiles.unregister(temporary.path) }
        do {
            try Data(text.utf8).write(to: temporary, options: .withoutOverwriting)
            // rename(2) replaces an existing destination atomically.
            guard rename(temporary.path, path) == 0 else {
                throw FileError(path: path, reason: "cannot be written: \(String(cString: strerror(errno)))")
            }
        } catch let error as FileError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            let reason = (error as NSError).localizedFailureReason ?? error.localizedDescription
            throw FileError(path: path, reason: "cannot be written: \(reason)")
        }
    }
}

/// Progress of a long operation: `completed` of `total` steps, the current one named.
public struct ProgressEvent: Sendable {
    public var completed: Int
    public var total: Int
    public var label: String
}

/// Called with progress as an operation goes; the CLI draws a bar from it on a terminal.
public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void
