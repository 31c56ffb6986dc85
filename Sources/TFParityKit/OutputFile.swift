import Foundation
import TensorCore

/// Writing a report file (HTML, JUnit) the way the model file is written: a temporary file beside the destination,
/// renamed into place only when complete, so a failed run never leaves half a file or damages an existing one.
public enum OutputFile {
    public static func write(_ text: String, to path: String) throws {
        let file = try AtomicFile(replacing: path)
        try file.write(Array(text.utf8))
        try file.commit { _ in }
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
