import TensorCore

/// One node of the layer graph.
public struct Layer: Sendable, Equatable {
    public var name: String
    public var op: any LayerOperation
    /// Names of the layers feeding this one; `Model.inputName` for the model input.
    public var inputs: [String]

    /// The arithmetic the layer computes in: float32, or float16/bfloat16 under a Keras mixed-precision policy (its
    /// inputs and output rounded to that precision, as Keras casts them).
    public var precision: Precision = .float32

    public init(name: String, op: any LayerOperation, inputs: [String], precision: Precision = .float32) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.precision = precision
    }

    public static func == (lhs: Layer, rhs: Layer) -> Bool {
        lhs.name == rhs.name && lhs.inputs == rhs.inputs && lhs.precision == rhs.precision && lhs.op.isEqual(to: rhs.op)
    }

    /// The layer's batch normalisation, when it is one.
    public var batchNormalization: BatchNormalization? { op as? BatchNormalization }

    public var isBatchNormalization: Bool { batchNormalization != nil }
}

/// Where a model's parameters came from.
public struct Provenance: Sendable, Equatable, Codable {
    /// The source's file name (last path component).
    public var source: String
    /// SHA-256 of the source file (of the archive for a directory source: of its files in name order).
    public var sha256: String
    /// `npz`, `npy-directory`, `hdf5`, …
    public var sourceKind: String
    /// The spec's file name, when one was used.
    public var spec: String?
    public var toolVersion: String
    /// The TensorFlow graph the architecture came from, for a source converted without a spec (set after `init`,
    /// by the converter of a graph source).
    public var graph: GraphProvenance?

    public init(source: String, sha256: String, sourceKind: String, spec: String?, toolVersion: String) {
        self.source = source
        self.sha256 = sha256
        self.sourceKind = sourceKind
        self.spec = spec
        self.toolVersion = toolVersion
    }

    enum CodingKeys: String, CodingKey {
        case source, sha256, spec, graph
        case sourceKind = "source_kind"
        case toolVersion = "tool_version"
    }
}

/// Which TensorFlow graph a model's layers were read from, and which of its tensors were the input and output.
public struct GraphProvenance: Sendable, Equatable, Codable {
    /// The graph file (`model.ckpt.meta`, `frozen.pb`, `saved_model.pb`): its path while planning, its file name in a
    /// model file.
    public var file: String
    /// SHA-256 of the graph file; empty until the converter computes it.
    public var sha256 = ""
    public var inputs: [String]
    public var outputs: [String]
    /// `NAME=VALUE`, as fed (including the bool placeholders fed `false` by default).
    public var feeds: [String]
    /// The SavedModel signature and tag, for a SavedModel (set after `init` by the SavedModel importer).
    public var signature: String?
    public var tag: String?

    public init(file: String, inputs: [String], outputs: [String], feeds: [String]) {
        self.file = file
        self.inputs = inputs
        self.outputs = outputs
        self.feeds = feeds
    }
}

/// A layer graph with its parameters, in the order the layers run.
public struct Model: Sendable {
    /// The name layers use in `inputs` for the model's input.
    public static let inputName = "input"

    public var layers: [Layer]
    /// The names layers use for the model's inputs: `[Model.inputName]` for a model with one input,
    /// `input/<input layer name>` for each input of a Keras model with several.
    public var inputNames: [String] = [Model.inputName]
    /// The layers whose outputs the model returns, in order, when declared (a Keras model with several outputs); nil
    /// means the last layer. The first is what a recording's `output` holds.
    public var declaredOutputs: [String]?
    /// `<layer name>/<param>` → tensor, values exactly as in the source (any dtype).
    public var parameters: [String: Tensor]
    public var provenance: Provenance?
    /// What `BatchNormFolding` folded, for a folded model; nil otherwise.
    public var folding: FoldingRecord?

    /// Builds a model; layers must be in an order where every input comes before its consumer.
    public init(layers: [Layer], parameters: [String: Tensor], provenance: Provenance? = nil) {
        self.layers = layers
        self.parameters = parameters
        self.provenance = provenance
    }

    /// Each input with nothing known of its shape, as `LayerGraph.check` takes them.
    public var unknownInputs: [String: ValueShape] {
        Dictionary(inputNames.map { ($0, ValueShape.unknown) }, uniquingKeysWith: { first, _ in first })
    }

    public func layer(named name: String) -> Layer? { layers.first { $0.name == name } }

    public func parameter(_ layer: String, _ param: String) -> Tensor? { parameters["\(layer)/\(param)"] }

    /// The names of the layers whose outputs the model returns: `declaredOutputs`, else the last layer.
    public var outputNames: [String] { declaredOutputs ?? layers.last.map { [$0.name] } ?? [] }

    /// The layer whose output is the model's (first) output: the first declared output, else the last layer.
    public var outputLayer: Layer? {
        if let first = declaredOutputs?.first { return layer(named: first) }
        return layers.last
    }

    /// Parameter tensor names in model order: layer by layer, each op's parameters in its own order.
    public var orderedParameterNames: [String] {
        Self.orderedParameterNames(layers) { parameters[$0] != nil }
    }

    /// Parameter tensor names of `layers` that `present` accepts, layer by layer in each op's order.
    static func orderedParameterNames(_ layers: [Layer], present: (String) -> Bool) -> [String] {
        layers.flatMap { layer in parameterNames(of: layer).map { "\(layer.name)/\($0)" }.filter(present) }
    }

    /// The parameters `layer`'s op may own (`kernel`, `bias`, …), required first.
    static func parameterNames(of layer: Layer) -> [String] { layer.op.parameters.map(\.name) }

    public func parameterCount(of layer: Layer) -> Int {
        layer.op.parameters.compactMap { parameter(layer.name, $0.name)?.elementCount }.reduce(0, +)
    }
}
