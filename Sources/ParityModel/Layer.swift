import TensorCore

/// An elementwise (or, for softmax, last-axis) activation, named as Keras names it.
public enum Activation: Sendable, Equatable {
    case linear
    case relu
    case relu6
    /// `x > 0 ? x : alpha * (exp(x) - 1)`; Keras' default alpha is 1.
    case elu(alpha: Float)
    case selu
    case sigmoid
    case tanh
    /// Softmax over the last axis.
    case softmax
    /// `x >= 0 ? x : alpha * x`. `tf.nn.leaky_relu` defaults alpha to 0.2, Keras 2's `LeakyReLU` to 0.3.
    case leakyRelu(alpha: Float)

    /// The name used in specs and in the model file (`relu`, `leaky_relu`, …).
    public var name: String {
        switch self {
        case .linear: "linear"
        case .relu: "relu"
        case .relu6: "relu6"
        case .elu: "elu"
        case .selu: "selu"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .softmax: "softmax"
        case .leakyRelu: "leaky_relu"
        }
    }

    /// Every name `init(name:alpha:)` accepts.
    public static let names = ["linear", "relu", "relu6", "elu", "selu", "sigmoid", "tanh", "softmax", "leaky_relu"]

    /// The activation called `name`, with `alpha` for `elu` / `leaky_relu` (defaults 1 and 0.2); nil when unknown.
    public init?(name: String, alpha: Float? = nil) {
        switch name {
        case "linear": self = .linear
        case "relu": self = .relu
        case "relu6": self = .relu6
        case "elu": self = .elu(alpha: alpha ?? 1)
        case "selu": self = .selu
        case "sigmoid": self = .sigmoid
        case "tanh": self = .tanh
        case "softmax": self = .softmax
        case "leaky_relu", "leakyrelu": self = .leakyRelu(alpha: alpha ?? 0.2)
        default: return nil
        }
    }

    public var alpha: Float? {
        switch self {
        case .elu(let alpha), .leakyRelu(let alpha): alpha
        default: nil
        }
    }
}

/// What a layer computes. Parameters live in `Model.parameters` under `<layer name>/<param>`.
public enum LayerOp: Sendable, Equatable {
    /// `y = activation(x · kernel + bias)`; `kernel` is `[in, out]` (TensorFlow layout), `bias` optional.
    case dense(activation: Activation)
    /// Inference batch normalisation over `axis` with `moving_mean`, `moving_variance` and optional `gamma`/`beta`,
    /// computed in TensorFlow's order: `inv = rsqrt(variance + epsilon) * gamma; y = x * inv + (beta - mean * inv)`.
    /// `axis` is as written in the source (negative counts from the end; -1 is the channel-last default).
    case batchNormalization(epsilon: Double, axis: Int)
    case activation(Activation)
    /// The identity at inference; `rate` is kept for the record.
    case dropout(rate: Double)

    /// The `type` string of specs and model files.
    public var typeName: String {
        switch self {
        case .dense: "dense"
        case .batchNormalization: "batchnorm"
        case .activation(let activation): activation.name
        case .dropout: "dropout"
        }
    }

    /// Parameters this op may own, required first.
    public var parameterNames: (required: [String], optional: [String]) {
        switch self {
        case .dense: (["kernel"], ["bias"])
        case .batchNormalization: (["moving_mean", "moving_variance"], ["gamma", "beta"])
        case .activation, .dropout: ([], [])
        }
    }
}

/// One node of the layer graph.
public struct Layer: Sendable, Equatable {
    public var name: String
    public var op: LayerOp
    /// Names of the layers feeding this one; `Model.inputName` for the model input.
    public var inputs: [String]

    public init(name: String, op: LayerOp, inputs: [String]) {
        self.name = name
        self.op = op
        self.inputs = inputs
    }

    public var isBatchNormalization: Bool {
        if case .batchNormalization = op { return true }
        return false
    }
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
    /// `<layer name>/<param>` → tensor, values exactly as in the source (any dtype).
    public var parameters: [String: Tensor]
    public var provenance: Provenance?

    /// Builds a model; layers must be in an order where every input comes before its consumer.
    public init(layers: [Layer], parameters: [String: Tensor], provenance: Provenance? = nil) {
        self.layers = layers
        self.parameters = parameters
        self.provenance = provenance
    }

    public func layer(named name: String) -> Layer? { layers.first { $0.name == name } }

    public func parameter(_ layer: String, _ param: String) -> Tensor? { parameters["\(layer)/\(param)"] }

    /// The layer whose output is the model's output: the last one.
    public var outputLayer: Layer? { layers.last }

    /// Parameter tensor names in model order: layer by layer, each op's parameters in its own order.
    public var orderedParameterNames: [String] {
        layers.flatMap { layer -> [String] in
            let (required, optional) = layer.op.parameterNames
            return (required + optional).map { "\(layer.name)/\($0)" }.filter { parameters[$0] != nil }
        }
    }

    public func parameterCount(of layer: Layer) -> Int {
        let (required, optional) = layer.op.parameterNames
        return (required + optional).compactMap { parameter(layer.name, $0)?.elementCount }.reduce(0, +)
    }
}
