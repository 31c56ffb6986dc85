import TensorCore

/// A TensorFlow graph file that cannot be read: damaged protobuf, a graph that contradicts itself, a tensor tfparity
/// cannot take.
///
/// `path` names the file at fault and `node` the node (or `function/node`) where one is involved, so the CLI prints
/// `error: model.ckpt.meta: layer0/bn/Const: tensor_content is 12 bytes, but shape [2, 3] of float32 takes 24`.
public enum GraphError: InputError, Equatable {
    case unreadable(path: String, reason: String)
    /// The file is bigger than a graph file may be; refused before reading it.
    case tooLarge(path: String, size: Int, limit: Int)
    /// The protobuf encoding is damaged: truncated, a wrong wire type, a length past the end.
    case malformed(path: String, node: String?, reason: String)
    /// More nodes (or functions, objects) than tfparity takes; counted before any is decoded.
    case tooMany(path: String, what: String, count: Int, limit: Int)
    /// A tensor or shape that is well-encoded but impossible: sizes that do not match, negative dimensions.
    case badTensor(path: String, node: String, reason: String)
    case unsupportedDType(path: String, node: String, dtype: String)
    case duplicateNode(path: String, node: String)
    /// An input names a node (or function argument) that does not exist.
    case missingInput(path: String, node: String, input: String)
    /// An input string that is not `name`, `^name`, `name:N` or `node:output_arg:N`.
    case badInput(path: String, node: String, input: String)
    /// The nodes' inputs form a cycle; `node` is on it.
    case cycle(path: String, node: String)

    public var path: String {
        switch self {
        case .unreadable(let path, _), .tooLarge(let path, _, _), .malformed(let path, _, _),
            .tooMany(let path, _, _, _), .badTensor(let path, _, _), .unsupportedDType(let path, _, _),
            .duplicateNode(let path, _), .missingInput(let path, _, _), .badInput(let path, _, _),
            .cycle(let path, _):
            path
        }
    }

    public var member: String? {
        switch self {
        case .malformed(_, let node, _): node
        case .badTensor(_, let node, _), .unsupportedDType(_, let node, _), .duplicateNode(_, let node),
            .missingInput(_, let node, _), .badInput(_, let node, _), .cycle(_, let node):
            node.isEmpty ? nil : node
        default: nil
        }
    }

    public var reason: String {
        switch self {
        case .unreadable(_, let reason): reason
        case .tooLarge(_, let size, let limit):
            "the file is \(size) bytes; graph files over \(limit) bytes are refused"
        case .malformed(_, _, let reason): "not a valid TensorFlow protobuf: \(reason)"
        case .tooMany(_, let what, let count, let limit):
            "\(count) \(what); tfparity takes at most \(limit)"
        case .badTensor(_, _, let reason): reason
        case .unsupportedDType(_, _, let dtype): "unsupported dtype '\(dtype)'"
        case .duplicateNode: "two nodes have this name"
        case .missingInput(_, _, let input): "input '\(input)' names no node of the graph"
        case .badInput(_, _, let input): "input '\(input)' is not 'name', '^name', 'name:N' or 'node:output:N'"
        case .cycle: "the graph has a cycle through this node"
        }
    }
}

/// A failure inside a decoder, before the file's path is known; the public entry points add it.
struct DecodeFailure: Error {
    enum Kind {
        case malformed
        case badTensor
        case unsupportedDType
        case tooMany(what: String, count: Int, limit: Int)
    }
    var kind: Kind
    var node: String?
    var reason: String

    static func malformed(_ reason: String, node: String? = nil) -> DecodeFailure {
        DecodeFailure(kind: .malformed, node: node, reason: reason)
    }

    func error(path: String) -> GraphError {
        switch kind {
        case .malformed: .malformed(path: path, node: node, reason: reason)
        case .badTensor: .badTensor(path: path, node: node ?? "", reason: reason)
        case .unsupportedDType: .unsupportedDType(path: path, node: node ?? "", dtype: reason)
        case .tooMany(let what, let count, let limit): .tooMany(path: path, what: what, count: count, limit: limit)
        }
    }
}
