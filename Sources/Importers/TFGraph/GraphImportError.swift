import TensorCore

/// Why a TensorFlow graph cannot become a model, naming the graph file and the node at fault.
///
/// Errors the CLI turns into usage hints (`--outputs`, `--inputs`, `--feed`, `--signature`) carry the candidates it
/// lists; only the CLI spells the flags.
public enum GraphImportError: InputError, Equatable {
    /// An op on the inference path that no handler lowers; `route` is the path from the input to it.
    case unsupportedOp(path: String, node: String, op: String, location: String, route: [String])
    /// A handler recognised the op but not this use of it (`data_format: NCHW`, a non-constant axis).
    case unsupportedUse(path: String, node: String, op: String, reason: String)
    /// A name given by the user (`--inputs`, `--outputs`, `--feed`) that is no node of the graph.
    case noSuchNode(path: String, node: String, role: Role)
    /// The outputs could not be chosen: none, or several (`candidates`).
    case ambiguousOutputs(path: String, candidates: [String])
    /// The input could not be chosen: no float placeholder, or several (`candidates`).
    case ambiguousInputs(path: String, candidates: [String])
    /// A placeholder the inference path needs, neither the input nor fed.
    case unfedPlaceholder(path: String, node: String)
    /// A feed whose value does not fit the placeholder's type.
    case badFeed(path: String, node: String, value: String, dtype: String)
    /// A `Switch` or `If` whose predicate is not known from the feeds.
    case unresolvedPredicate(path: String, node: String)
    /// The signature asked for is not in the SavedModel; `available` lists those that are.
    case noSignature(path: String, signature: String, available: [String])
    /// No meta graph carries the tag; `available` lists the tags that exist.
    case noTag(path: String, tag: String, available: [String])
    /// A checkpoint has no `.meta` beside it and no `--graph` was given.
    case noMetaGraph(path: String)
    /// A variable the graph reads that the checkpoint does not hold.
    case missingVariable(path: String, variable: String, checkpoint: String)
    /// The output is the input itself: no layer between them.
    case emptyModel(path: String, output: String)
    /// A function call that names no function of the library, or recursion past the limit.
    case badFunction(path: String, node: String, reason: String)

    /// What a user-given name was meant to be.
    public enum Role: String, Sendable, Equatable {
        case input, output, feed
    }

    public var path: String {
        switch self {
        case .unsupportedOp(let path, _, _, _, _), .unsupportedUse(let path, _, _, _), .noSuchNode(let path, _, _),
            .ambiguousOutputs(let path, _), .ambiguousInputs(let path, _), .unfedPlaceholder(let path, _),
            .badFeed(let path, _, _, _), .unresolvedPredicate(let path, _), .noSignature(let path, _, _),
            .noTag(let path, _, _), .noMetaGraph(let path), .missingVariable(let path, _, _),
            .emptyModel(let path, _), .badFunction(let path, _, _):
            path
        }
    }

    public var member: String? {
        switch self {
        case .unsupportedOp(_, let node, _, _, _), .unsupportedUse(_, let node, _, _), .noSuchNode(_, let node, _),
            .unfedPlaceholder(_, let node), .badFeed(_, let node, _, _), .unresolvedPredicate(_, let node),
            .badFunction(_, let node, _):
            node
        case .missingVariable(_, let variable, _): variable
        default: nil
        }
    }

    public var reason: String {
        switch self {
        case .unsupportedOp(_, _, let op, let location, let route):
            "unsupported op '\(op)' on the inference path (\(location); from the input: "
                + route.joined(separator: " -> ") + ")"
        case .unsupportedUse(_, _, let op, let reason): "\(op): \(reason)"
        case .noSuchNode(_, _, let role): "no node of this name in the graph (named as \(role.rawValue))"
        case .ambiguousOutputs(_, let candidates):
            candidates.isEmpty
                ? "no output found: nothing the input computes is left unused"
                : "the model's output is ambiguous; candidates: " + candidates.map { "'\($0)'" }.joined(separator: ", ")
        case .ambiguousInputs(_, let candidates):
            candidates.isEmpty
                ? "no float placeholder feeds the outputs"
                : "the model's input is ambiguous; candidates: " + candidates.map { "'\($0)'" }.joined(separator: ", ")
        case .unfedPlaceholder:
            "a placeholder on the inference path is neither the input nor fed"
        case .badFeed(_, _, let value, let dtype): "cannot feed '\(value)' to a \(dtype) placeholder"
        case .unresolvedPredicate: "the branch taken depends on a value the feeds do not fix"
        case .noSignature(_, let signature, let available):
            "no signature '\(signature)'; the SavedModel has: "
                + (available.isEmpty ? "none" : available.map { "'\($0)'" }.joined(separator: ", "))
        case .noTag(_, let tag, let available):
            "no meta graph tagged '\(tag)'; tags present: "
                + (available.isEmpty ? "none" : available.map { "'\($0)'" }.joined(separator: ", "))
        case .noMetaGraph:
            "the checkpoint has no meta graph beside it (<prefix>.meta), so its architecture is unknown"
        case .missingVariable(_, _, let checkpoint): "the graph reads this variable, but \(checkpoint) does not hold it"
        case .emptyModel(_, let output): "the output '\(output)' is the input: there is no layer to convert"
        case .badFunction(_, _, let reason): reason
        }
    }
}
