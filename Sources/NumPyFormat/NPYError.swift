import TensorCore

/// Why an `.npy` file, an `.npz` archive or an NPY directory could not be read.
///
/// Every case names the file as the user gave it and, inside an archive, the member (`layer0/W.npy`), so
/// the description reads `<path>: <member>: <reason>`.
public enum NPYError: InputError, Equatable, Sendable {
    /// The file or directory could not be read at all.
    case unreadable(path: String, detail: String)
    /// The bytes do not start with `\x93NUMPY`.
    case badMagic(path: String, member: String?)
    /// A format version other than 1.0, 2.0 or 3.0.
    case unsupportedVersion(path: String, member: String?, major: UInt8, minor: UInt8)
    /// The file ends inside the magic string, the version, the header length or the header.
    case truncatedHeader(path: String, member: String?, needed: Int, available: Int)
    /// A header length over `NPYHeader.maximumHeaderLength`.
    case headerTooLarge(path: String, member: String?, length: Int, limit: Int)
    /// The header dictionary is not the literal numpy writes: syntax, missing or extra keys, wrong types.
    case malformedHeader(path: String, member: String?, detail: String)
    /// An element type this reader refuses (object, structured, datetime, string, complex, …).
    case unsupportedDType(path: String, member: String?, descr: String, detail: String)
    /// A negative dimension, or a shape whose byte size overflows.
    case invalidShape(path: String, member: String?, shape: [Int], detail: String)
    /// Fewer payload bytes than `shape × dtype` needs.
    case truncatedPayload(path: String, member: String?, expected: Int, actual: Int)
    /// More payload bytes than `shape × dtype` needs.
    case trailingBytes(path: String, member: String?, expected: Int, actual: Int)
    /// No end-of-central-directory record: the file is not a zip archive.
    case notAZipArchive(path: String, detail: String)
    /// A zip structure that contradicts itself or the file's size.
    case malformedArchive(path: String, member: String?, detail: String)
    /// A valid zip feature this reader does not support (encryption, bzip2, multi-disk, …).
    case unsupportedArchiveFeature(path: String, member: String?, detail: String)
    /// A member whose CRC-32 differs from the one the central directory records.
    case checksumMismatch(path: String, member: String, expected: UInt32, actual: UInt32)
    /// Deflate data that is corrupt, truncated or inflates to more than its NPY header implies.
    case corruptCompressedData(path: String, member: String, detail: String)
    /// A member larger than it may be inflated to (`detail` says what bounds it), refused before or while inflating.
    case memberTooLarge(path: String, member: String, detail: String)
    /// Two archive members with the same name (or the same name once `.npy` is removed).
    case duplicateMember(path: String, name: String)
    /// `tensor(named:)` asked for a name the archive or directory does not hold.
    case memberNotFound(path: String, name: String)
    /// `NPZWriter` could not write or re-read the archive. `reason` is the whole statement: the output file's own
    /// words (`AtomicFile`: "cannot be written: No space left on device …") or what a check found.
    case writeFailed(path: String, reason: String)

    public var path: String {
        switch self {
        case .unreadable(let path, _), .badMagic(let path, _), .unsupportedVersion(let path, _, _, _),
            .truncatedHeader(let path, _, _, _), .headerTooLarge(let path, _, _, _),
            .malformedHeader(let path, _, _), .unsupportedDType(let path, _, _, _),
            .invalidShape(let path, _, _, _), .truncatedPayload(let path, _, _, _),
            .trailingBytes(let path, _, _, _), .notAZipArchive(let path, _),
            .malformedArchive(let path, _, _), .unsupportedArchiveFeature(let path, _, _),
            .checksumMismatch(let path, _, _, _), .corruptCompressedData(let path, _, _),
            .memberTooLarge(let path, _, _), .duplicateMember(let path, _), .memberNotFound(let path, _),
            .writeFailed(let path, _):
            path
        }
    }

    public var member: String? {
        switch self {
        case .unreadable, .notAZipArchive, .writeFailed:
            nil
        case .badMagic(_, let member), .unsupportedVersion(_, let member, _, _),
            .truncatedHeader(_, let member, _, _), .headerTooLarge(_, let member, _, _),
            .malformedHeader(_, let member, _), .unsupportedDType(_, let member, _, _),
            .invalidShape(_, let member, _, _), .truncatedPayload(_, let member, _, _),
            .trailingBytes(_, let member, _, _), .malformedArchive(_, let member, _),
            .unsupportedArchiveFeature(_, let member, _):
            member
        case .checksumMismatch(_, let member, _, _), .corruptCompressedData(_, let member, _),
            .memberTooLarge(_, let member, _):
            member
        case .duplicateMember(_, let name), .memberNotFound(_, let name):
            name
        }
    }

    public var reason: String {
        switch self {
        case .unreadable(_, let detail):
            detail
        case .badMagic:
            "not an NPY file (missing the \\x93NUMPY magic string)"
        case .unsupportedVersion(_, _, let major, let minor):
            "unsupported NPY format version \(major).\(minor) (1.0, 2.0 and 3.0 are supported)"
        case .truncatedHeader(_, _, let needed, let available):
            "truncated NPY header: needs \(needed) bytes, \(available) present"
        case .headerTooLarge(_, _, let length, let limit):
            "NPY header length \(length) exceeds the limit of \(limit) bytes"
        case .malformedHeader(_, _, let detail):
            "malformed NPY header: \(detail)"
        case .unsupportedDType(_, _, let descr, let detail):
            "unsupported dtype '\(descr)' (\(detail))"
        case .invalidShape(_, _, let shape, let detail):
            "invalid shape \(Shape.describe(shape)): \(detail)"
        case .truncatedPayload(_, _, let expected, let actual):
            "truncated data: the header implies \(expected) bytes, \(actual) present"
        case .trailingBytes(_, _, let expected, let actual):
            "\(actual - expected) unexpected bytes after the \(expected) bytes the header implies"
        case .notAZipArchive(_, let detail):
            "not a zip archive: \(detail)"
        case .malformedArchive(_, _, let detail):
            "malformed zip archive: \(detail)"
        case .unsupportedArchiveFeature(_, _, let detail):
            "unsupported zip feature: \(detail)"
        case .checksumMismatch(_, _, let expected, let actual):
            "CRC-32 mismatch: the archive records \(hex(expected)), the data has \(hex(actual))"
        case .corruptCompressedData(_, _, let detail):
            "corrupt deflate data: \(detail)"
        case .memberTooLarge(_, _, let detail):
            detail
        case .duplicateMember(_, let name):
            "duplicate member name '\(name)'"
        case .memberNotFound:
            "no such array"
        case .writeFailed(_, let reason):
            reason
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
