import ParityModel
import TensorCore

/// What `convert` (or `inspect`) was asked to read: the source, its detected kind, and the files that describe it.
public struct ImportRequest: Sendable {
    /// The source as the user named it.
    public var source: String
    /// What the source is, recognised by its content.
    public var kind: SourceKind
    /// A spec naming the source's tensors layer by layer (wins over any architecture the source carries).
    public var spec: String?
    /// A Keras config JSON for a `.weights.h5`, or one replacing a Keras file's own.
    public var config: String?
    /// For a TensorFlow graph source: the graph file, inputs, outputs, feeds, SavedModel tag and signature.
    public var graph: GraphImportOptions
}

extension ImportRequest {
    /// A request for `source`, its kind detected from its content.
    public init(
        source: String, spec: String? = nil, config: String? = nil, graph: GraphImportOptions = GraphImportOptions()
    ) throws {
        self.init(
            source: source, kind: try SourceDetection.kind(of: source), spec: spec, config: config, graph: graph)
    }
}

/// Turns one family of sources into a `ModelPlan`: the layer graph, and each parameter described but not read.
///
/// An importer maps its own vocabulary (spec entries, Keras classes, TensorFlow op patterns) to the model's layer
/// operations; the plan it returns is checked by `ModelPlan.checkShapes` (the model file's own checks) before
/// anything is written.
public protocol ModelImporter: Sendable {
    /// True when this importer reads `request`.
    func accepts(_ request: ImportRequest) -> Bool
    /// The model `request` describes, its parameters not yet read.
    func plan(_ request: ImportRequest) throws -> (ModelPlan, SourceKind)
}

/// Why no importer could build a model, in terms the caller can turn into a hint (the CLI names its flags).
public enum ImportError: InputError, Equatable {
    /// The source carries no architecture and no spec was given.
    case noArchitecture(path: String, kind: SourceKind)
    /// Keras weights without the config that describes them.
    case weightsWithoutConfig(path: String)

    public var path: String {
        switch self {
        case .noArchitecture(let path, _), .weightsWithoutConfig(let path): path
        }
    }

    public var member: String? { nil }

    public var reason: String {
        switch self {
        case .noArchitecture(_, let kind):
            "a \(kind.rawValue) source holds no architecture: a spec naming its tensors is needed"
        case .weightsWithoutConfig: "Keras weights hold no architecture: the model's config JSON is needed"
        }
    }
}

/// The importers, in the order they are asked: a spec wins over an architecture the source carries.
public enum ModelImporters {
    public static let all: [any ModelImporter] = [SpecImporter(), KerasImporter(), GraphImporter()]

    /// Whether `request` is a TensorFlow graph source the graph importer reads (no spec, an architecture in the
    /// graph).
    public static func readsGraph(_ request: ImportRequest) -> Bool {
        GraphImporter().accepts(request) && !KerasImporter().accepts(request)
    }

    /// The plan of the first importer that accepts `request`.
    public static func plan(_ request: ImportRequest) throws -> (ModelPlan, SourceKind) {
        guard let importer = all.first(where: { $0.accepts(request) }) else {
            throw ImportError.noArchitecture(path: request.source, kind: request.kind)
        }
        var (plan, kind) = try importer.plan(request)
        // Errors about the model name the file the user gave (not a member extracted from it).
        plan.sourcePath = request.source
        try plan.checkShapes()
        return (plan, kind)
    }
}

/// Keras model files (`.h5`, `.keras`) and Keras 3 weights with their config.
struct KerasImporter: ModelImporter {
    func accepts(_ request: ImportRequest) -> Bool {
        request.spec == nil && (request.kind.isKeras || (request.config != nil && request.kind == .hdf5))
    }

    func plan(_ request: ImportRequest) throws -> (ModelPlan, SourceKind) {
        let kind = request.kind == .hdf5 ? SourceKind.keras3Weights : request.kind
        return (try KerasFiles.plan(path: request.source, kind: kind, config: request.config), kind)
    }
}
