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

    public init(source: String, sha256: String, sourceKind: String, spec: String?, toolVersion: String) {
        self.source = source
        self.sha256 = sha256
        self.sourceKind = sourceKind
        self.spec = spec
        self.toolVersion = toolVersion
    }

    enum CodingKeys: String, CodingKey {
        case source, sha256, spec
        case sourceKind = "source_kind"
        case toolVersion = "tool_version"
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
