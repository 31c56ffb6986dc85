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
    /// Keras 3's `hard_sigmoid`: `relu6(x + 3) / 6`.
    case hardSigmoid
    /// Keras 2's (tf_keras) `hard_sigmoid`: `clip(0.2 * x + 0.5, 0, 1)`.
    case hardSigmoidKeras2
    /// `x * sigmoid(x)` (Keras `swish` / `silu`).
    case swish
    /// `0.5 * x * (1 + erf(x / sqrt(2)))`, Keras' default (not approximate) `gelu`.
    case gelu
    /// `log(1 + exp(x))`, computed stably as TensorFlow does.
    case softplus
    /// `x / (1 + |x|)`.
    case softsign
    case exponential

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
        case .hardSigmoid: "hard_sigmoid"
        case .hardSigmoidKeras2: "hard_sigmoid_keras2"
        case .swish: "swish"
        case .gelu: "gelu"
        case .softplus: "softplus"
        case .softsign: "softsign"
        case .exponential: "exponential"
        }
    }

    /// Every name `init(name:alpha:)` accepts.
    public static let names = [
        "linear", "relu", "relu6", "elu", "selu", "sigmoid", "tanh", "softmax", "leaky_relu", "hard_sigmoid",
        "hard_sigmoid_keras2", "swish", "silu", "gelu", "softplus", "softsign", "exponential",
    ]

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
        case "hard_sigmoid": self = .hardSigmoid
        case "hard_sigmoid_keras2": self = .hardSigmoidKeras2
        case "swish", "silu": self = .swish
        case "gelu": self = .gelu
        case "softplus": self = .softplus
        case "softsign": self = .softsign
        case "exponential": self = .exponential
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

/// How a window is placed over the input: TensorFlow's `VALID` (no padding) or `SAME` (output size
/// `ceil(input / stride)`, padding split with the extra element at the bottom/right).
public enum Padding: String, Sendable, Equatable {
    case valid
    case same
}

/// The window geometry of a 2-D convolution over an NHWC input.
public struct Convolution2D: Sendable, Equatable {
    /// `[height, width]` of the kernel.
    public var kernelSize: [Int]
    public var strides: [Int]
    public var padding: Padding
    public var dilation: [Int]

    public init(kernelSize: [Int], strides: [Int] = [1, 1], padding: Padding = .valid, dilation: [Int] = [1, 1]) {
        self.kernelSize = kernelSize
        self.strides = strides
        self.padding = padding
        self.dilation = dilation
    }
}

/// The window geometry of a 2-D pooling over an NHWC input.
public struct Pooling2D: Sendable, Equatable {
    public var poolSize: [Int]
    public var strides: [Int]
    public var padding: Padding

    public init(poolSize: [Int], strides: [Int], padding: Padding) {
        self.poolSize = poolSize
        self.strides = strides
        self.padding = padding
    }
}

/// What a layer computes. Parameters live in `Model.parameters` under `<layer name>/<param>`.
///
/// Image ops take NHWC input (batch, height, width, channels), as TensorFlow's default `channels_last`.
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
    /// `y = activation(conv2d(x, kernel) + bias)`; `kernel` is `[kh, kw, in, out]`, `bias` optional.
    case conv2D(Convolution2D, activation: Activation)
    /// Per-channel convolution; `depthwise_kernel` is `[kh, kw, in, multiplier]`, output channel `c * multiplier + m`.
    case depthwiseConv2D(Convolution2D, depthMultiplier: Int, activation: Activation)
    /// A depthwise convolution (`depthwise_kernel`) then a 1×1 one (`pointwise_kernel [1, 1, in * mult, out]`), bias.
    case separableConv2D(Convolution2D, depthMultiplier: Int, activation: Activation)
    /// Zeros added around the height and width axes.
    case zeroPadding2D(top: Int, bottom: Int, left: Int, right: Int)
    case maxPooling2D(Pooling2D)
    /// Average pooling; with `same` padding each window divides by its count of real (unpadded) elements.
    case averagePooling2D(Pooling2D)
    /// Mean over height and width: `[N, H, W, C]` → `[N, C]`, or `[N, 1, 1, C]` with `keepDims`.
    case globalAveragePooling2D(keepDims: Bool)
    case globalMaxPooling2D(keepDims: Bool)
    /// `[N, …]` → `[N, product]`, in C order.
    case flatten
    /// `[N, …]` → `[N] + targetShape`; one entry may be -1.
    case reshape(targetShape: [Int])
    /// Elementwise sum of every input (NumPy broadcasting).
    case add
    /// Elementwise product of every input (NumPy broadcasting).
    case multiply
    /// Inputs joined along `axis` (counting the batch axis; negative counts from the end).
    case concatenate(axis: Int)
    /// Keras' `ReLU` layer: zero below `threshold`, `negativeSlope * (x - threshold)` there when non-zero, clipped at
    /// `maxValue`.
    case relu(maxValue: Float?, negativeSlope: Float, threshold: Float)
    /// Softmax over `axis` (negative counts from the end).
    case softmax(axis: Int)
    /// `y = x * scale + offset`.
    case rescaling(scale: Float, offset: Float)

    /// The `type` string of specs and model files.
    public var typeName: String {
        switch self {
        case .dense: "dense"
        case .batchNormalization: "batchnorm"
        case .activation(let activation): activation.name
        case .dropout: "dropout"
        case .conv2D: "conv2d"
        case .depthwiseConv2D: "depthwise_conv2d"
        case .separableConv2D: "separable_conv2d"
        case .zeroPadding2D: "zero_padding2d"
        case .maxPooling2D: "max_pooling2d"
        case .averagePooling2D: "average_pooling2d"
        case .globalAveragePooling2D: "global_average_pooling2d"
        case .globalMaxPooling2D: "global_max_pooling2d"
        case .flatten: "flatten"
        case .reshape: "reshape"
        case .add: "add"
        case .multiply: "multiply"
        case .concatenate: "concatenate"
        case .relu: "relu"
        case .softmax: "softmax"
        case .rescaling: "rescaling"
        }
    }

    /// Parameters this op may own, required first.
    public var parameterNames: (required: [String], optional: [String]) {
        switch self {
        case .dense: (["kernel"], ["bias"])
        case .batchNormalization: (["moving_mean", "moving_variance"], ["gamma", "beta"])
        case .conv2D: (["kernel"], ["bias"])
        case .depthwiseConv2D: (["depthwise_kernel"], ["bias"])
        case .separableConv2D: (["depthwise_kernel", "pointwise_kernel"], ["bias"])
        case .activation, .dropout, .zeroPadding2D, .maxPooling2D, .averagePooling2D, .globalAveragePooling2D,
            .globalMaxPooling2D, .flatten, .reshape, .add, .multiply, .concatenate, .relu, .softmax, .rescaling:
            ([], [])
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
    /// What `BatchNormFolding` folded, for a folded model; nil otherwise.
    public var folding: FoldingRecord?

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
        Self.orderedParameterNames(layers) { parameters[$0] != nil }
    }

    /// Parameter tensor names of `layers` that `present` accepts, layer by layer in each op's order.
    static func orderedParameterNames(_ layers: [Layer], present: (String) -> Bool) -> [String] {
        layers.flatMap { layer in parameterNames(of: layer).map { "\(layer.name)/\($0)" }.filter(present) }
    }

    /// The parameters `layer`'s op may own (`kernel`, `bias`, …), required first.
    static func parameterNames(of layer: Layer) -> [String] {
        let (required, optional) = layer.op.parameterNames
        return required + optional
    }

    public func parameterCount(of layer: Layer) -> Int {
        let (required, optional) = layer.op.parameterNames
        return (required + optional).compactMap { parameter(layer.name, $0)?.elementCount }.reduce(0, +)
    }
}
