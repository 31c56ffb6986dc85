import Foundation

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
    /// `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`: GELU's tanh approximation (Keras
    /// `gelu(approximate=True)`, PyTorch `approximate="tanh"`).
    case geluTanh
    /// `x * relu6(x + 3) / 6` (Keras 3 `hard_silu` / `hard_swish`, MobileNetV3).
    case hardSwish
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
        case .geluTanh: "gelu_tanh"
        case .hardSwish: "hard_swish"
        case .softplus: "softplus"
        case .softsign: "softsign"
        case .exponential: "exponential"
        }
    }

    /// Every name `init(name:alpha:)` accepts.
    public static let names = [
        "linear", "relu", "relu6", "elu", "selu", "sigmoid", "tanh", "softmax", "leaky_relu", "hard_sigmoid",
        "hard_sigmoid_keras2", "swish", "silu", "gelu", "gelu_tanh", "hard_swish", "hard_silu", "softplus", "softsign",
        "exponential",
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
        case "gelu_tanh": self = .geluTanh
        case "hard_swish", "hard_silu": self = .hardSwish
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

extension Activation: Codable {
    private enum CodingKeys: String, CodingKey { case name, alpha }

    /// A name (`"relu"`), or `{"name": "elu", "alpha": 1.0}` for an activation with a parameter.
    public init(from decoder: any Decoder) throws {
        let name: String
        var alpha: Float?
        if let single = try? decoder.singleValueContainer().decode(String.self) {
            name = single
        } else {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            alpha = try container.decodeIfPresent(Float.self, forKey: .alpha)
        }
        guard let activation = Activation(name: name, alpha: alpha) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription:
                        "unknown activation '\(name)' (known: \(Activation.names.joined(separator: ", ")))"))
        }
        if let alpha = activation.alpha, !alpha.isFinite {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "alpha \(alpha) is not finite"))
        }
        self = activation
    }

    public func encode(to encoder: any Encoder) throws {
        if let alpha {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(alpha, forKey: .alpha)
        } else {
            var container = encoder.singleValueContainer()
            try container.encode(name)
        }
    }
}

extension Activation {
    /// Applies the activation in place; softmax runs over rows of `lastDimension` values.
    func apply(to y: inout [Float], lastDimension: Int) {
        switch self {
        case .linear:
            return
        case .relu:
            for i in y.indices { y[i] = max(y[i], 0) }
        case .relu6:
            for i in y.indices { y[i] = min(max(y[i], 0), 6) }
        case .elu(let alpha):
            for i in y.indices where y[i] <= 0 { y[i] = alpha * Foundation.expm1(y[i]) }
        case .selu:
            let scale: Float = 1.0507009873554805
            let alpha: Float = 1.6732632423543772
            for i in y.indices { y[i] = y[i] > 0 ? scale * y[i] : scale * alpha * Foundation.expm1(y[i]) }
        case .sigmoid:
            for i in y.indices { y[i] = 1 / (1 + Foundation.exp(-y[i])) }
        case .tanh:
            for i in y.indices { y[i] = Foundation.tanh(y[i]) }
        case .softmax:
            guard lastDimension > 0 else { return }
            for start in stride(from: 0, to: y.count, by: lastDimension) {
                let end = start + lastDimension
                let peak = y[start..<end].max() ?? 0
                var sum: Float = 0
                for i in start..<end {
                    y[i] = Foundation.exp(y[i] - peak)
                    sum += y[i]
                }
                for i in start..<end { y[i] /= sum }
            }
        case .leakyRelu(let alpha):
            for i in y.indices where y[i] < 0 { y[i] *= alpha }
        case .hardSigmoid:
            for i in y.indices { y[i] = min(max(y[i] + 3, 0), 6) / 6 }
        case .hardSigmoidKeras2:
            for i in y.indices { y[i] = min(max(0.2 * y[i] + 0.5, 0), 1) }
        case .swish:
            for i in y.indices { y[i] = y[i] * (1 / (1 + Foundation.exp(-y[i]))) }
        case .gelu:
            for i in y.indices { y[i] = 0.5 * y[i] * (1 + Foundation.erf(y[i] / Float(2).squareRoot())) }
        case .geluTanh:
            let root = (2 / Float.pi).squareRoot()
            for i in y.indices {
                let x = y[i]
                y[i] = 0.5 * x * (1 + Foundation.tanh(root * (x + 0.044715 * x * x * x)))
            }
        case .hardSwish:
            for i in y.indices { y[i] = y[i] * (min(max(y[i] + 3, 0), 6) / 6) }
        case .softplus:
            for i in y.indices { y[i] = Self.softplus(y[i]) }
        case .softsign:
            for i in y.indices { y[i] = y[i] / (1 + abs(y[i])) }
        case .exponential:
            for i in y.indices { y[i] = Foundation.exp(y[i]) }
        }
    }

    /// TensorFlow's `softplus`: `x` above a threshold, `exp(x)` far below it, `log1p(exp(x))` between.
    static func softplus(_ x: Float) -> Float {
        let threshold = Foundation.log(Float.ulpOfOne) + 2
        if x > -threshold { return x }
        if x < threshold { return Foundation.exp(x) }
        return Foundation.log1p(Foundation.exp(x))
    }
}
