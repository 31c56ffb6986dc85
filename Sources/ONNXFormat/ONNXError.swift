import TensorCore

/// An ONNX model that cannot be written.
///
/// Every case names the file as the caller gave it, so the CLI prints it as `<file>: <reason>`.
public enum ONNXError: InputError, Equatable {
    /// Even with its initializers in external data the model's protobuf exceeds the 2 GiB protobuf limit.
    case modelTooLarge(path: String, size: Int)
    /// Writing, syncing, re-reading or renaming an output failed; the destination is untouched. `reason` is the whole
    /// statement: the output file's own words (`AtomicFile`: "cannot be written: No space left on device …") or what a
    /// check found ("the written file does not read back as written").
    case writeFailed(path: String, reason: String)

    public var path: String {
        switch self {
        case .modelTooLarge(let path, _), .writeFailed(let path, _): path
        }
    }

    public var member: String? { nil }

    public var reason: String {
        switch self {
        case .modelTooLarge(_, let size):
            "the model's graph is \(size) bytes without its initializers, over protobuf's 2 GiB limit"
        case .writeFailed(_, let reason): reason
        }
    }
}
