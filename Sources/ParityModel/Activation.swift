import Foundation

/// An elementwise (or, for softmax, log-softmax, sparsemax and glu, last-axis) activation, named as Keras names it,
/// computed with TensorFlow's float32 formulas (`keras/src/backend/tensorflow/nn.py`, `tf.nn`).
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
    /// `0.5 * x * erfc(-x / sqrt(2))`, Keras' default (not approximate) `gelu`, as `tf.nn.gelu` computes it.
    case gelu
    /// `0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x³)))`: `gelu(x, approximate=True)`.
    case geluApproximate
    /// `x * relu6(x + 3) / 6` (Keras 3's `hard_silu`, alias `hard_swish`).
    case hardSilu
    /// `x * tanh(softplus(x))`.
    case mish
    /// `x - max - log(sum(exp(x - max)))` over the last axis.
    case logSoftmax
    /// `max(x, 0) + alpha * expm1(min(x, 0) / alpha)`; Keras' default alpha is 1.
    case celu(alpha: Float)
    /// The last axis split in halves `a`, `b`: `a * sigmoid(b)`. Halves the last axis, so only an activation layer
    /// applies it (`preservesShape` is false).
    case glu
    /// `|x| > 0.5 ? x : 0`.
    case hardShrink
    /// `clip(x, -1, 1)`.
    case hardTanh
    /// `-softplus(-x)`.
    case logSigmoid
    /// `x - 0.5` above 0.5, `x + 0.5` below -0.5, else 0.
    case softShrink
    /// 0 at or below -1, `(x + 1)² / 4` below 1, else `x`.
    case sparsePlus
    /// 0 at or below -1, 1 at or above 1, else `(x + 1) / 2`.
    case sparseSigmoid
    /// `max(x - tau, 0)` over the last axis, `tau` as Keras' TensorFlow backend computes it.
    case sparsemax
    /// `(x + sqrt(x² + 4)) / 2`.
    case squareplus
    /// `x - tanh(x)`.
    case tanhShrink
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
        case .geluApproximate: "gelu_approximate"
        case .hardSilu: "hard_silu"
        case .mish: "mish"
        case .logSoftmax: "log_softmax"
        case .celu: "celu"
        case .glu: "glu"
        case .hardShrink: "hard_shrink"
        case .hardTanh: "hard_tanh"
        case .logSigmoid: "log_sigmoid"
        case .softShrink: "soft_shrink"
        case .sparsePlus: "sparse_plus"
        case .sparseSigmoid: "sparse_sigmoid"
        case .sparsemax: "sparsemax"
        case .squareplus: "squareplus"
        case .tanhShrink: "tanh_shrink"
        case .softplus: "softplus"
        case .softsign: "softsign"
        case .exponential: "exponential"
        }
    }

    /// Every name `init(name:alpha:)` accepts, in the order messages list them, with the activation it names (`elu`,
    /// `celu` and `leaky_relu` with their default `alpha`, 1, 1 and 0.2).
    private static let named: [(name: String, activation: Activation)] = [
        ("linear", .linear), ("relu", .relu), ("relu6", .relu6), ("elu", .elu(alpha: 1)), ("selu", .selu),
        ("sigmoid", .sigmoid), ("tanh", .tanh), ("softmax", .softmax), ("leaky_relu", .leakyRelu(alpha: 0.2)),
        ("hard_sigmoid", .hardSigmoid), ("hard_sigmoid_keras2", .hardSigmoidKeras2), ("swish", .swish),
        ("silu", .swish), ("gelu", .gelu), ("gelu_approximate", .geluApproximate), ("gelu_tanh", .geluApproximate),
        ("softplus", .softplus), ("softsign", .softsign), ("exponential", .exponential), ("hard_silu", .hardSilu),
        ("hard_swish", .hardSilu), ("mish", .mish), ("log_softmax", .logSoftmax), ("celu", .celu(alpha: 1)),
        ("glu", .glu), ("hard_shrink", .hardShrink), ("hard_tanh", .hardTanh), ("log_sigmoid", .logSigmoid),
        ("soft_shrink", .softShrink), ("sparse_plus", .sparsePlus), ("sparse_sigmoid", .sparseSigmoid),
        ("sparsemax", .sparsemax), ("squareplus", .squareplus), ("tanh_shrink", .tanhShrink),
    ]

    /// Every name `init(name:alpha:)` accepts.
    public static let names = named.map(\.name)

    /// The activation called `name` (`leakyrelu` too, for `leaky_relu`), with `alpha` for `elu` / `celu` /
    /// `leaky_relu` (defaults 1, 1 and 0.2); nil when unknown.
    public init?(name: String, alpha: Float? = nil) {
        let name = name == "leakyrelu" ? "leaky_relu" : name
        guard let entry = Self.named.first(where: { $0.name == name }) else { return nil }
        self = alpha.map(entry.activation.with(alpha:)) ?? entry.activation
    }

    /// This activation with parameter `alpha`, for the kinds that have one; the others ignore it.
    private func with(alpha: Float) -> Activation {
        switch self {
        case .elu: .elu(alpha: alpha)
        case .celu: .celu(alpha: alpha)
        case .leakyRelu: .leakyRelu(alpha: alpha)
        default: self
        }
    }

    public var alpha: Float? {
        switch self {
        case .elu(let alpha), .celu(let alpha), .leakyRelu(let alpha): alpha
        default: nil
        }
    }

    /// False for `glu`, whose output has half the last axis: a layer that fuses an activation cannot apply it.
    public var preservesShape: Bool { self != .glu }
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
        if let alpha = activation.alpha, !alpha.isFinite || (activation == .celu(alpha: alpha) && alpha == 0) {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: decoder.codingPath,
                    debugDescription: "alpha \(alpha) is not finite (and non-zero for celu)"))
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
    /// Applies the activation in place; softmax, log-softmax and sparsemax run over rows of `lastDimension` values.
    /// `glu` changes the shape: `gatedLinearUnit` computes it, and an operation that fuses an activation refuses it
    /// when validated. `map` (`VectorKernels.map(for:)`) computes an elementwise one where given.
    func apply(to y: inout [Float], lastDimension: Int, map: VectorKernels.Map? = nil) {
        switch self {
        case .softmax:
            Self.forEachRow(of: &y, lastDimension: lastDimension) { y, row, peak in
                var sum: Float = 0
                for i in row {
                    y[i] = Foundation.exp(y[i] - peak)
                    sum += y[i]
                }
                for i in row { y[i] /= sum }
            }
        case .logSoftmax:
            Self.logSoftmaxRows(&y, lastDimension: lastDimension)
        case .sparsemax:
            Self.sparsemaxRows(&y, lastDimension: lastDimension)
        case .glu:
            preconditionFailure("glu changes the shape: apply it with gatedLinearUnit")
        default:
            y.withUnsafeMutableBufferPointer { y in
                guard let base = y.baseAddress else { return }
                guard let work = elementWork, let chunks = Self.chunks(y.count, work: work) else {
                    applyElementwise(to: y, map: map)
                    return
                }
                // Functions that call `exp`, `erfc`, `tanh` or `log` for every element (ConvNeXt's GELU over its
                // 4×-wide layers was a third of its forward pass) run on every core, each chunk in place through the
                // same loop: element by element, so the values are those of one thread.
                let (shared, count) = (SharedFloats(base: base), y.count)
                Parallel.forEach(chunks, work: count * work) { chunk in
                    let start = chunk * count / chunks
                    let end = (chunk + 1) * count / chunks
                    applyElementwise(
                        to: UnsafeMutableBufferPointer(start: shared.base + start, count: end - start), map: map)
                }
            }
        }
    }

    /// How many chunks `count` elements are split in across the cores; nil below what pays for a second thread.
    private static func chunks(_ count: Int, work: Int) -> Int? {
        guard Parallel.cores > 1, count * work >= Parallel.minimumWork else { return nil }
        return Parallel.cores * 4
    }

    /// A rough count of operations one element costs, against `Parallel.minimumWork`, for the elementwise functions
    /// worth splitting over the cores: 32 for a call to the C library's `exp`, `tanh` or `log` per element and for the
    /// vectorised ones (`VectorMath`, about 12 SSE instructions an element, as long as a libm call), so a layer of 8 K
    /// elements or more is split; nil for the piecewise-linear ones (a few instructions an element) and the row-wise
    /// softmax family.
    var elementWork: Int? {
        switch self {
        case .sigmoid, .swish, .gelu: 32
        case .elu, .selu, .tanh, .geluApproximate, .mish, .celu, .logSigmoid, .tanhShrink, .softplus, .exponential: 32
        default: nil
        }
    }

    /// Whether `applyElementwise` computes this activation: every one but the row-wise softmax family and `glu`.
    var isElementwise: Bool {
        switch self {
        case .softmax, .logSoftmax, .sparsemax, .glu: false
        default: true
        }
    }

    /// ReLU and ReLU6 as a product's kernel may apply them in its registers (`applyElementwise`'s clamp); nil for the
    /// others.
    var columnStep: ColumnStep? {
        switch self {
        case .relu: .clamp(maximum: nil)
        case .relu6: .clamp(maximum: 6)
        default: nil
        }
    }

    /// An element-by-element function over `y`, in place (the row-wise ones are `apply(to:lastDimension:)`'s); by
    /// `map`, the same values from a wider implementation, where given.
    func applyElementwise(to y: UnsafeMutableBufferPointer<Float>, map: VectorKernels.Map? = nil) {
        if let map {
            if let base = y.baseAddress { map(base, y.count) }
            return
        }
        switch self {
        case .linear:
            return
        case .relu, .relu6:
            guard let base = y.baseAddress else { return }
            Kernels.clamp(base, into: base, count: y.count, maximum: self == .relu6 ? 6 : nil)
        case .elu(let alpha):
            for i in y.indices where y[i] <= 0 { y[i] = alpha * Foundation.expm1(y[i]) }
        case .selu:
            let scale: Float = 1.0507009873554805
            let alpha: Float = 1.6732632423543772
            for i in y.indices { y[i] = y[i] > 0 ? scale * y[i] : scale * alpha * Foundation.expm1(y[i]) }
        case .sigmoid:
            VectorMath.map(y, VectorMath.sigmoid)
        case .tanh:
            for i in y.indices { y[i] = Foundation.tanh(y[i]) }
        case .leakyRelu(let alpha):
            for i in y.indices where y[i] < 0 { y[i] *= alpha }
        case .hardSigmoid:
            for i in y.indices { y[i] = min(max(y[i] + 3, 0), 6) / 6 }
        case .hardSigmoidKeras2:
            for i in y.indices { y[i] = min(max(0.2 * y[i] + 0.5, 0), 1) }
        case .swish:
            // As sigmoid: below -89 the gate is exactly 0 (and `x * 0` keeps the sign TensorFlow's product has).
            VectorMath.map(y) { x in x * VectorMath.sigmoid(x) }
        case .gelu:
            VectorMath.map(y, VectorMath.gelu)
        case .geluApproximate:
            let (coefficient, scale): (Float, Float) = (0.044715, 0.7978845608028654)
            for i in y.indices {
                let x = y[i]
                y[i] = 0.5 * x * (1 + Foundation.tanh(scale * (x + coefficient * (x * x * x))))
            }
        case .hardSilu:
            for i in y.indices { y[i] = y[i] * (min(max(y[i] + 3, 0), 6) / 6) }
        case .mish:
            for i in y.indices { y[i] = y[i] * Foundation.tanh(Self.softplus(y[i])) }
        case .celu(let alpha):
            for i in y.indices { y[i] = max(y[i], 0) + alpha * Foundation.expm1(min(y[i], 0) / alpha) }
        case .hardShrink:
            for i in y.indices where !(abs(y[i]) > 0.5) { y[i] = 0 }
        case .hardTanh:
            for i in y.indices { y[i] = max(min(y[i], 1), -1) }
        case .logSigmoid:
            for i in y.indices { y[i] = -Self.softplus(-y[i]) }
        case .softShrink:
            for i in y.indices { y[i] = y[i] > 0.5 ? y[i] - 0.5 : (y[i] < -0.5 ? y[i] + 0.5 : 0) }
        case .sparsePlus:
            for i in y.indices { y[i] = y[i] <= -1 ? 0 : (y[i] < 1 ? 0.25 * ((y[i] + 1) * (y[i] + 1)) : y[i]) }
        case .sparseSigmoid:
            for i in y.indices { y[i] = y[i] <= -1 ? 0 : (y[i] >= 1 ? 1 : 0.5 * (y[i] + 1)) }
        case .squareplus:
            for i in y.indices { y[i] = (y[i] + (y[i] * y[i] + 4).squareRoot()) / 2 }
        case .tanhShrink:
            for i in y.indices { y[i] = y[i] - Foundation.tanh(y[i]) }
        case .softplus:
            for i in y.indices { y[i] = Self.softplus(y[i]) }
        case .softsign:
            for i in y.indices { y[i] = y[i] / (1 + abs(y[i])) }
        case .exponential:
            for i in y.indices { y[i] = Foundation.exp(y[i]) }
        case .softmax, .logSoftmax, .sparsemax, .glu:
            preconditionFailure("\(self) works over rows: apply(to:lastDimension:) computes it")
        }
    }

    /// TensorFlow's `softplus`: `x` above a threshold, `exp(x)` far below it, `log1p(exp(x))` between.
    static func softplus(_ x: Float) -> Float {
        let threshold = Foundation.log(Float.ulpOfOne) + 2
        if x > -threshold { return x }
        if x < threshold { return Foundation.exp(x) }
        return Foundation.log1p(Foundation.exp(x))
    }

    /// TensorFlow's `LogSoftmax` kernel per row: `shifted = x - max; shifted - log(sum(exp(shifted)))`.
    static func logSoftmaxRows(_ y: inout [Float], lastDimension: Int) {
        forEachRow(of: &y, lastDimension: lastDimension) { y, row, peak in
            var sum: Float = 0
            for i in row {
                y[i] -= peak
                sum += Foundation.exp(y[i])
            }
            let logSum = Foundation.log(sum)
            for i in row { y[i] -= logSum }
        }
    }

    /// Calls `body` with `y`, the index range of each of its rows of `lastDimension` values and the row's largest
    /// value: what softmax and log-softmax subtract before `exp`, so that it cannot overflow.
    static func forEachRow(
        of y: inout [Float], lastDimension: Int, _ body: (inout [Float], Range<Int>, _ peak: Float) -> Void
    ) {
        guard lastDimension > 0 else { return }
        for start in stride(from: 0, to: y.count, by: lastDimension) {
            let row = start..<(start + lastDimension)
            body(&y, row, y[row].max() ?? 0)
        }
    }

    /// Keras 3's TensorFlow `sparsemax` per row, as it computes it: the row sorted descending, its running sums `s`,
    /// the support `sorted[j] - (s[j] - 1) / (j + 1) > 0` of size `k`, `tau = (sum of s over the support - 1) / k`,
    /// `max(x - tau, 0)`. (That `tau` sums the running sums, not their last value; the fixture is what TensorFlow
    /// gives.)
    static func sparsemaxRows(_ y: inout [Float], lastDimension: Int) {
        guard lastDimension > 0 else { return }
        var sorted = [Float](repeating: 0, count: lastDimension)
        for start in stride(from: 0, to: y.count, by: lastDimension) {
            for j in 0..<lastDimension { sorted[j] = y[start + j] }
            sorted.sort(by: >)
            var running: Float = 0
            var supportSum: Float = 0
            var support: Float = 0
            for j in 0..<lastDimension {
                running += sorted[j]
                if sorted[j] - (running - 1) / Float(j + 1) > 0 {
                    supportSum += running
                    support += 1
                }
            }
            let tau = (supportSum - 1) / support
            for j in 0..<lastDimension { y[start + j] = max(y[start + j] - tau, 0) }
        }
    }

    /// `glu` over the last axis of `x` (even, checked by the operation): `a * sigmoid(b)` for the halves `a`, `b`.
    static func gatedLinearUnit(_ x: FloatTensor) -> FloatTensor {
        let size = x.lastDimension
        let half = size / 2
        var y = [Float](repeating: 0, count: x.count / 2)
        x.values.withUnsafeBufferPointer { x in
            for row in 0..<(y.count / max(half, 1)) {
                for j in 0..<half {
                    let gate = 1 / (1 + Foundation.exp(-x[row * size + half + j]))
                    y[row * half + j] = x[row * size + j] * gate
                }
            }
        }
        return FloatTensor(shape: x.shape.dropLast() + [half], values: y)
    }
}

/// The base of a buffer the chunks of a parallel loop each write a disjoint part of.
private struct SharedFloats: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
}
