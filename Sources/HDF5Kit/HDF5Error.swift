import TensorCore

/// Why an HDF5 file, dataset or attribute could not be read.
///
/// Every case names the file as the caller gave it and, where one is involved, the dataset or object
/// inside it, so the CLI can print `error: <file>: <dataset>: <reason>`. Details that come from HDF5's
/// error stack are carried verbatim in `detail`.
public enum HDF5Error: InputError, Equatable {
    /// The file does not exist or cannot be read.
    case fileNotFound(path: String)
    /// The file exists but carries no HDF5 signature.
    case notHDF5(path: String)
    /// HDF5 could not open the file (truncated, damaged, unsupported version…).
    case openFailed(path: String, detail: String)
    /// No dataset (or group, for group and attribute look-ups) at `object`.
    case noSuchObject(path: String, object: String)
    /// `object` exists but is not a dataset (`kind` is what it is, e.g. `"group"`).
    case notDataset(path: String, object: String, kind: String)
    /// `link` is an external link (to `target`); external files are never opened.
    case externalLink(path: String, link: String, target: String)
    /// The dataset's element type has no tensor equivalent (string, compound, vlen…).
    case unsupportedType(path: String, dataset: String, description: String)
    /// The dataset's storage is refused (external raw files, virtual layout, null dataspace).
    case unsupportedStorage(path: String, dataset: String, description: String)
    /// The dataset declares more bytes than may be allocated; `bytes` is nil when its size overflows.
    case tooLarge(path: String, dataset: String, bytes: Int?, limit: Int)
    /// HDF5 failed while reading the dataset.
    case readFailed(path: String, dataset: String, detail: String)
    /// The attribute's type or shape is not what was asked for.
    case unsupportedAttribute(path: String, object: String, attribute: String, description: String)
    /// HDF5 failed while reading an attribute.
    case attributeFailed(path: String, object: String, attribute: String, detail: String)
    /// Another HDF5 operation (listing a group, opening an object) failed.
    case operationFailed(path: String, object: String?, detail: String)

    public var path: String {
        switch self {
        case .fileNotFound(let path), .notHDF5(let path), .openFailed(let path, _),
            .noSuchObject(let path, _), .notDataset(let path, _, _), .externalLink(let path, _, _),
            .unsupportedType(let path, _, _), .unsupportedStorage(let path, _, _), .tooLarge(let path, _, _, _),
            .readFailed(let path, _, _), .unsupportedAttribute(let path, _, _, _),
            .attributeFailed(let path, _, _, _), .operationFailed(let path, _, _):
            path
        }
    }

    public var member: String? {
        switch self {
        case .fileNotFound, .notHDF5, .openFailed:
            nil
        case .noSuchObject(_, let object), .notDataset(_, let object, _), .externalLink(_, let object, _),
            .unsupportedType(_, let object, _), .unsupportedStorage(_, let object, _),
            .tooLarge(_, let object, _, _), .readFailed(_, let object, _):
            object
        case .unsupportedAttribute(_, let object, let attribute, _), .attributeFailed(_, let object, let attribute, _):
            "\(object) attribute '\(attribute)'"
        case .operationFailed(_, let object, _):
            object
        }
    }

    public var reason: String {
        switch self {
        case .fileNotFound:
            "no such file, or it cannot be read"
        case .notHDF5:
            "not an HDF5 file (no HDF5 signature found)"
        case .openFailed(_, let detail):
            "cannot open HDF5 file: \(detail)"
        case .noSuchObject:
            "no such dataset or group"
        case .notDataset(_, _, let kind):
            "is a \(kind), not a dataset"
        case .externalLink(_, _, let target):
            "is an external link to '\(target)'; external links are not followed"
        case .unsupportedType(_, _, let description):
            "unsupported element type: \(description)"
        case .unsupportedStorage(_, _, let description):
            "unsupported storage: \(description)"
        case .tooLarge(_, _, let bytes?, let limit):
            "declares \(bytes) bytes, more than the \(limit) bytes allowed"
        case .tooLarge(_, _, nil, _):
            "declared size overflows"
        case .readFailed(_, _, let detail):
            "read failed: \(detail)"
        case .unsupportedAttribute(_, _, _, let description):
            description
        case .attributeFailed(_, _, _, let detail):
            "cannot read attribute: \(detail)"
        case .operationFailed(_, _, let detail):
            detail
        }
    }
}
