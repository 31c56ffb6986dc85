import TensorCore

/// A safetensors file that cannot be read, is malformed, or cannot be written.
///
/// Every case names the file as the caller gave it (`path`) and, where one is involved, the tensor
/// (`member`), so the CLI prints it as `<file>[: <tensor>]: <reason>`.
public enum SafeTensorsError: InputError, Equatable {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// The file is shorter than the 8-byte header length that starts every safetensors file.
    case fileTooSmall(path: String, size: Int)
    /// The header length exceeds `SafeTensorsFile.maximumHeaderLength`.
    case headerTooLarge(path: String, length: UInt64)
    /// The header length points past the end of the file.
    case headerBeyondFile(path: String, length: UInt64, fileSize: Int)
    /// The header is not UTF-8, not JSON, or not a JSON object.
    case invalidHeader(path: String, reason: String)
    /// `__metadata__` is not an object of strings.
    case invalidMetadata(path: String, reason: String)
    /// The header holds more tensors than `SafeTensorsFile.maximumTensorCount`.
    case tooManyTensors(path: String, count: Int, limit: Int)
    /// A tensor's entry lacks a field, has an extra one, or a field of the wrong JSON type.
    case invalidTensorEntry(path: String, tensor: String, reason: String)
    /// A tensor's dtype is not one safetensors defines.
    case unknownDType(path: String, tensor: String, dtype: String)
    /// A tensor's shape has a negative dimension or more elements than can be addressed.
    case invalidShape(path: String, tensor: String, shape: [Int])
    /// A tensor's byte range does not hold exactly shape × dtype bytes.
    case sizeMismatch(path: String, tensor: String, expected: Int, actual: Int)
    /// A tensor's byte range ends past the data area.
    case offsetsOutOfBounds(path: String, tensor: String, end: Int, dataSize: Int)
    /// A tensor's byte range starts inside the previous tensor's.
    case overlappingTensors(path: String, tensor: String, previous: String)
    /// Bytes that belong to no tensor precede this tensor.
    case gapBeforeTensor(path: String, tensor: String, expectedBegin: Int, begin: Int)
    /// Bytes that belong to no tensor follow the last tensor.
    case trailingBytes(path: String, count: Int)
    /// The file holds no tensor of this name.
    case tensorNotFound(path: String, tensor: String)
    /// Two tensors given to the writer share a name.
    case duplicateTensorName(path: String, tensor: String)
    /// A tensor name the format reserves or cannot hold (`__metadata__`).
    case reservedTensorName(path: String, tensor: String)
    /// Writing, syncing, re-reading or renaming the output failed; the destination is untouched. `reason` is the whole
    /// statement: the output file's own words (`AtomicFile`: "cannot be written: No space left on device …") or what a
    /// check found ("tensor 'x' does not read back as written").
    case writeFailed(path: String, reason: String)

    public var path: String {
        switch self {
        case .unreadable(let path, _), .fileTooSmall(let path, _), .headerTooLarge(let path, _),
            .headerBeyondFile(let path, _, _), .invalidHeader(let path, _), .invalidMetadata(let path, _),
            .tooManyTensors(let path, _, _), .invalidTensorEntry(let path, _, _), .unknownDType(let path, _, _),
            .invalidShape(let path, _, _), .sizeMismatch(let path, _, _, _),
            .offsetsOutOfBounds(let path, _, _, _), .overlappingTensors(let path, _, _),
            .gapBeforeTensor(let path, _, _, _), .trailingBytes(let path, _), .tensorNotFound(let path, _),
            .duplicateTensorName(let path, _), .reservedTensorName(let path, _), .writeFailed(let path, _):
            path
        }
    }

    public var member: String? {
        switch self {
        case .invalidMetadata: "__metadata__"
        case .invalidTensorEntry(_, let tensor, _), .unknownDType(_, let tensor, _), .invalidShape(_, let tensor, _),
            .sizeMismatch(_, let tensor, _, _), .offsetsOutOfBounds(_, let tensor, _, _),
            .overlappingTensors(_, let tensor, _), .gapBeforeTensor(_, let tensor, _, _),
            .tensorNotFound(_, let tensor), .duplicateTensorName(_, let tensor),
            .reservedTensorName(_, let tensor):
            tensor
        case .unreadable, .fileTooSmall, .headerTooLarge, .headerBeyondFile, .invalidHeader, .tooManyTensors,
            .trailingBytes, .writeFailed:
            nil
        }
    }

    public var reason: String {
        switch self {
        case .unreadable(_, let reason):
            "cannot read: \(reason)"
        case .fileTooSmall(_, let size):
            "not a safetensors file: \(size) bytes, shorter than the 8-byte header length"
        case .headerTooLarge(_, let length):
            "header length \(length) exceeds the limit of \(SafeTensorsFile.maximumHeaderLength) bytes"
        case .headerBeyondFile(_, let length, let fileSize):
            "header length \(length) runs past the end of the \(fileSize)-byte file"
        case .invalidHeader(_, let reason):
            "invalid header: \(reason)"
        case .invalidMetadata(_, let reason):
            reason
        case .tooManyTensors(_, let count, let limit):
            "header lists \(count) tensors, more than the limit of \(limit)"
        case .invalidTensorEntry(_, _, let reason):
            reason
        case .unknownDType(_, _, let dtype):
            "unknown dtype '\(dtype)'"
        case .invalidShape(_, _, let shape):
            "shape \(Shape.describe(shape)) has a negative dimension or too many elements"
        case .sizeMismatch(_, _, let expected, let actual):
            "data_offsets span \(actual) bytes, but shape × dtype is \(expected) bytes"
        case .offsetsOutOfBounds(_, _, let end, let dataSize):
            "data_offsets end at \(end), past the \(dataSize)-byte data area"
        case .overlappingTensors(_, _, let previous):
            "data overlaps tensor '\(previous)'"
        case .gapBeforeTensor(_, _, let expectedBegin, let begin):
            "data starts at \(begin), leaving unused bytes after \(expectedBegin)"
        case .trailingBytes(_, let count):
            "\(count) bytes after the last tensor belong to no tensor"
        case .tensorNotFound:
            "no such tensor in the file"
        case .duplicateTensorName:
            "tensor name given more than once"
        case .reservedTensorName:
            "'__metadata__' is reserved and cannot name a tensor"
        case .writeFailed(_, let reason):
            reason
        }
    }
}
