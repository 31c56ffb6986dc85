import Foundation
import TensorCore

/// A model that cannot run: a parameter missing or of the wrong shape, or an input that does not fit.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    case missingParameter(layer: String, parameter: String)
    case parameterShape(layer: String, parameter: String, expected: String, actual: [Int])
    case inputShape(layer: String, expected: String, actual: [Int])
    case unknownLayer(String)
    case missingValue(layer: String, input: String)

    public var description: String {
        switch self {
        case .missingParameter(let layer, let parameter):
            "layer '\(layer)': parameter '\(parameter)' is missing"
        case .parameterShape(let layer, let parameter, let expected, let actual):
            "layer '\(layer)': parameter '\(parameter)' has shape \(Shape.describe(actual)), expected \(expected)"
        case .inputShape(let layer, let expected, let actual):
            "layer '\(layer)': input has shape \(Shape.describe(actual)), expected \(expected)"
        case .unknownLayer(let name):
            "no layer named '\(name)'"
        case .missingValue(let layer, let input):
            "layer '\(layer)': no value for its input '\(input)'"
        }
    }
}

/// Runs a `Model` in float32, as TensorFlow does on CPU.
///
/// Parameters are converted to float32 once, at init. Every op follows TensorFlow's order of operations, so results
/// agree with TensorFlow's to float32 rounding.
public struct Engine: Sendable {
    public let model: Model
    private let prepared: [String: PreparedLayer]
    private let indexOfLayer: [String: Int]

    /// Checks every layer's parameters and converts them to float32.
    public init(model: Model) throws {
        try self.init(model: model, retainingParameters: true)
    }

    /// Checks every layer's parameters and converts them to float32; without `retainingParameters`, `model` keeps its
    /// layers but drops its parameter tensors once converted, so an inference-only engine holds each value once.
    public init(model: Model, retainingParameters: Bool) throws {
        var kept = model
        if !retainingParameters { kept.parameters = [:] }
        self.model = kept
        var prepared: [String: PreparedLayer] = [:]
        var indexOfLayer: [String: Int] = [:]
        for (index, layer) in model.layers.enumerated() {
            indexOfLayer[layer.name] = index
            prepared[layer.name] = try PreparedLayer(layer, model: model)
        }
        self.prepared = prepared
        self.indexOfLayer = indexOfLayer
    }

    /// The model's output for `input`.
    public func run(_ input: FloatTensor) throws -> FloatTensor {
        guard let last = model.outputLayer else { return input }
        return try output(of: last.name, given: [Model.inputName: input])
    }

    /// Every layer's output for `input`, by layer name.
    public func trace(_ input: FloatTensor) throws -> [String: FloatTensor] {
        var values: [String: FloatTensor] = [Model.inputName: input]
        for layer in model.layers {
            values[layer.name] = try apply(
                layer,
                to: layer.inputs.map { name in
                    guard let value = values[name] else {
                        throw EngineError.missingValue(layer: layer.name, input: name)
                    }
                    return value
                })
        }
        values[Model.inputName] = nil
        return values
    }

    /// Computes layer `name`'s output. Its inputs are taken from `known` (layer name, or `Model.inputName`, → value)
    /// where present, else computed the same way; the layer itself is always computed, even when `known` has it.
    public func output(of name: String, given known: [String: FloatTensor]) throws -> FloatTensor {
        guard let layer = model.layer(named: name) else { throw EngineError.unknownLayer(name) }
        var memo: [String: FloatTensor] = [:]
        return try compute(layer, known: known, memo: &memo)
    }

    private func compute(_ layer: Layer, known: [String: FloatTensor], memo: inout [String: FloatTensor]) throws
        -> FloatTensor
    {
        if let cached = memo[layer.name] { return cached }
        var inputs: [FloatTensor] = []
        for name in layer.inputs {
            if let value = known[name] {
                inputs.append(value)
            } else if let upstream = model.layer(named: name) {
                inputs.append(try compute(upstream, known: known, memo: &memo))
            } else {
                throw EngineError.missingValue(layer: layer.name, input: name)
            }
        }
        let value = try apply(layer, to: inputs)
        memo[layer.name] = value
        return value
    }

    /// Applies one layer to its input values.
    public func apply(_ layer: Layer, to inputs: [FloatTensor]) throws -> FloatTensor {
        guard let prepared = prepared[layer.name], let x = inputs.first else {
            throw EngineError.missingValue(layer: layer.name, input: layer.inputs.first ?? Model.inputName)
        }
        switch prepared {
        case .dense(let kernel, let bias, let inputSize, let outputSize, let activation):
            guard x.lastDimension == inputSize, x.shape.count >= 1 else {
                throw EngineError.inputShape(layer: layer.name, expected: "[…, \(inputSize)]", actual: x.shape)
            }
            var y = Kernels.matmul(x.values, rows: x.count / inputSize, kernel)
            if let bias { Kernels.addBias(&y, bias) }
            Kernels.activate(&y, activation, lastDimension: outputSize)
            return FloatTensor(shape: Array(x.shape.dropLast()) + [outputSize], values: y)
        case .batchNormalization(let scale, let offset, let axis):
            let rank = x.shape.count
            let channelAxis = axis < 0 ? axis + rank : axis
            guard channelAxis >= 0, channelAxis < rank, x.shape[channelAxis] == scale.count else {
                throw EngineError.inputShape(
                    layer: layer.name, expected: "\(scale.count) channels on axis \(axis)", actual: x.shape)
            }
            let inner = x.shape[(channelAxis + 1)...].reduce(1, *)
            return FloatTensor(shape: x.shape, values: Kernels.scaleAndShift(x.values, scale, offset, inner: inner))
        case .activation(let activation):
            var y = x.values
            Kernels.activate(&y, activation, lastDimension: x.lastDimension)
            return FloatTensor(shape: x.shape, values: y)
        case .identity:
            return x
        case .convolution(let kernel, let kernelShape, let bias, let geometry, let activation):
            let image = try ImageShape(x, layer: layer.name, channels: kernelShape[2])
            var y = try ImageKernels.conv2D(
                x.values, image, kernel: kernel, kernelShape: kernelShape, geometry: geometry, layer: layer.name)
            if let bias { Kernels.addBias(&y.values, bias) }
            Kernels.activate(&y.values, activation, lastDimension: kernelShape[3])
            return y
        case .depthwise(let kernel, let kernelShape, let bias, let geometry, let activation):
            let image = try ImageShape(x, layer: layer.name, channels: kernelShape[2])
            var y = try ImageKernels.depthwiseConv2D(
                x.values, image, kernel: kernel, kernelShape: kernelShape, geometry: geometry, layer: layer.name)
            if let bias { Kernels.addBias(&y.values, bias) }
            Kernels.activate(&y.values, activation, lastDimension: y.lastDimension)
            return y
        case .separable(
            let depthwise, let depthwiseShape, let pointwise, let outputChannels, let bias, let geometry,
            let activation):
            let image = try ImageShape(x, layer: layer.name, channels: depthwiseShape[2])
            let middle = try ImageKernels.depthwiseConv2D(
                x.values, image, kernel: depthwise, kernelShape: depthwiseShape, geometry: geometry, layer: layer.name)
            let inner = middle.lastDimension
            var y = Kernels.matmul(middle.values, rows: middle.count / inner, pointwise)
            if let bias { Kernels.addBias(&y, bias) }
            Kernels.activate(&y, activation, lastDimension: outputChannels)
            return FloatTensor(shape: Array(middle.shape.dropLast()) + [outputChannels], values: y)
        case .parameterless(let op):
            return try ShapeOps.apply(op, to: inputs, layer: layer.name)
        }
    }

}

extension Engine {
    /// Checks that `layer`'s parameters fit its op, from their shapes alone — the checks `Engine(model:)` makes before
    /// it converts anything, so a converter can make them without reading a value.
    /// - Parameter shapes: the shape of parameter `kernel`, `bias`, … of this layer, or nil when it has none.
    public static func checkParameterShapes(of layer: Layer, shapes: (String) -> [Int]?) throws {
        func required(_ parameter: String) throws -> [Int] {
            guard let shape = shapes(parameter) else {
                throw EngineError.missingParameter(layer: layer.name, parameter: parameter)
            }
            return shape
        }
        func vector(_ parameter: String, length: Int, optional: Bool = true) throws {
            guard let shape = shapes(parameter) else {
                if optional { return }
                throw EngineError.missingParameter(layer: layer.name, parameter: parameter)
            }
            guard Shape.elementCount(shape) == length, shape.filter({ $0 != 1 }).count <= 1 else {
                throw EngineError.parameterShape(
                    layer: layer.name, parameter: parameter, expected: "[\(length)]", actual: shape)
            }
        }
        func kernel(_ parameter: String, _ geometry: Convolution2D, last: Int?) throws -> [Int] {
            let shape = try required(parameter)
            guard shape.count == 4, shape[0] == geometry.kernelSize[0], shape[1] == geometry.kernelSize[1],
                last.map({ shape[3] == $0 }) ?? true
            else {
                let lastText = last.map(String.init) ?? "out"
                throw EngineError.parameterShape(
                    layer: layer.name, parameter: parameter,
                    expected: "[\(geometry.kernelSize[0]), \(geometry.kernelSize[1]), in, \(lastText)]", actual: shape)
            }
            return shape
        }
        switch layer.op {
        case .dense:
            let shape = try required("kernel")
            guard shape.count == 2 else {
                throw EngineError.parameterShape(
                    layer: layer.name, parameter: "kernel", expected: "[in, out]", actual: shape)
            }
            try vector("bias", length: shape[1])
        case .batchNormalization:
            let channels = Shape.elementCount(try required("moving_mean")) ?? 0
            try vector("moving_mean", length: channels, optional: false)
            try vector("moving_variance", length: channels, optional: false)
            try vector("gamma", length: channels)
            try vector("beta", length: channels)
        case .conv2D(let geometry, _):
            try vector("bias", length: try kernel("kernel", geometry, last: nil)[3])
        case .depthwiseConv2D(let geometry, let multiplier, _):
            try vector("bias", length: try kernel("depthwise_kernel", geometry, last: multiplier)[2] * multiplier)
        case .separableConv2D(let geometry, let multiplier, _):
            let middle = try kernel("depthwise_kernel", geometry, last: multiplier)[2] * multiplier
            let pointwise = try required("pointwise_kernel")
            guard pointwise.count == 4, pointwise[0] == 1, pointwise[1] == 1, pointwise[2] == middle else {
                throw EngineError.parameterShape(
                    layer: layer.name, parameter: "pointwise_kernel", expected: "[1, 1, \(middle), out]",
                    actual: pointwise)
            }
            try vector("bias", length: pointwise[3])
        default:
            break
        }
    }
}

/// A layer's parameters as float32 arrays, checked once.
private enum PreparedLayer: Sendable {
    case dense(kernel: PackedMatrix, bias: [Float]?, inputSize: Int, outputSize: Int, activation: Activation)
    case batchNormalization(scale: [Float], offset: [Float], axis: Int)
    case activation(Activation)
    case identity
    case convolution(
        kernel: PackedMatrix, kernelShape: [Int], bias: [Float]?, geometry: Convolution2D, activation: Activation)
    case depthwise(
        kernel: [Float], kernelShape: [Int], bias: [Float]?, geometry: Convolution2D, activation: Activation)
    case separable(
        depthwise: [Float], depthwiseShape: [Int], pointwise: PackedMatrix, outputChannels: Int, bias: [Float]?,
        geometry: Convolution2D, activation: Activation)
    /// An op without parameters, computed by `ShapeOps`.
    case parameterless(LayerOp)

    init(_ layer: Layer, model: Model) throws {
        try Engine.checkParameterShapes(of: layer) { model.parameter(layer.name, $0)?.shape }
        // Shapes are checked above; from here on a parameter is present when required and fits the op.
        func required(_ parameter: String) -> Tensor {
            guard let tensor = model.parameter(layer.name, parameter) else {
                preconditionFailure("checked parameter '\(parameter)' of '\(layer.name)' vanished")
            }
            return tensor
        }
        func vector(_ parameter: String) -> [Float]? { model.parameter(layer.name, parameter)?.floatValues() }
        switch layer.op {
        case .dense(let activation):
            let kernel = required("kernel")
            self = .dense(
                kernel: PackedMatrix(kernel.floatValues(), inner: kernel.shape[0], columns: kernel.shape[1]),
                bias: vector("bias"), inputSize: kernel.shape[0], outputSize: kernel.shape[1], activation: activation)
        case .batchNormalization(let epsilon, let axis):
            let (scale, offset) = BatchNormalization.scaleAndOffset(
                mean: required("moving_mean").floatValues(), variance: required("moving_variance").floatValues(),
                gamma: vector("gamma"), beta: vector("beta"), epsilon: Float(epsilon))
            self = .batchNormalization(scale: scale, offset: offset, axis: axis)
        case .activation(let activation):
            self = .activation(activation)
        case .dropout:
            self = .identity
        case .conv2D(let geometry, let activation):
            let kernel = required("kernel")
            self = .convolution(
                kernel: PackedMatrix(
                    kernel.floatValues(), inner: kernel.shape[0] * kernel.shape[1] * kernel.shape[2],
                    columns: kernel.shape[3]),
                kernelShape: kernel.shape, bias: vector("bias"), geometry: geometry, activation: activation)
        case .depthwiseConv2D(let geometry, _, let activation):
            let kernel = required("depthwise_kernel")
            self = .depthwise(
                kernel: kernel.floatValues(), kernelShape: kernel.shape, bias: vector("bias"), geometry: geometry,
                activation: activation)
        case .separableConv2D(let geometry, let multiplier, let activation):
            let depthwise = required("depthwise_kernel")
            let pointwise = required("pointwise_kernel")
            self = .separable(
                depthwise: depthwise.floatValues(), depthwiseShape: depthwise.shape,
                pointwise: PackedMatrix(
                    pointwise.floatValues(), inner: depthwise.shape[2] * multiplier, columns: pointwise.shape[3]),
                outputChannels: pointwise.shape[3], bias: vector("bias"), geometry: geometry, activation: activation)
        case .zeroPadding2D, .maxPooling2D, .averagePooling2D, .globalAveragePooling2D, .globalMaxPooling2D, .flatten,
            .reshape, .add, .multiply, .concatenate, .relu, .softmax, .rescaling:
            self = .parameterless(layer.op)
        }
    }
}

/// Batch normalisation at inference, in TensorFlow's order of float32 operations.
public enum BatchNormalization {
    /// `inv = rsqrt(variance + epsilon) * gamma`, `offset = beta - mean * inv`, as `tf.nn.batch_normalization`.
    public static func scaleAndOffset(
        mean: [Float], variance: [Float], gamma: [Float]?, beta: [Float]?, epsilon: Float
    ) -> (scale: [Float], offset: [Float]) {
        var scale = [Float](repeating: 0, count: mean.count)
        var offset = [Float](repeating: 0, count: mean.count)
        for c in 0..<mean.count {
            var inv = 1 / (variance[c] + epsilon).squareRoot()
            if let gamma { inv *= gamma[c] }
            scale[c] = inv
            offset[c] = (beta?[c] ?? 0) - mean[c] * inv
        }
        return (scale, offset)
    }

    /// `y = x * inv + offset` for a single value: the worked example's formula.
    public static func apply(
        _ x: Float, mean: Float, variance: Float, gamma: Float?, beta: Float?, epsilon: Float
    ) -> Float {
        let (scale, offset) = scaleAndOffset(
            mean: [mean], variance: [variance], gamma: gamma.map { [$0] }, beta: beta.map { [$0] }, epsilon: epsilon)
        return x * scale[0] + offset[0]
    }
}

/// The numeric kernels, in plain Swift.
enum Kernels {
    /// `x[rows, w.inner] · w`, summed in float32 by the blocked SIMD kernel `Gemm` (as TensorFlow's Eigen and oneDNN
    /// kernels do: blocked float32 sums, so neither side is the exact value; the difference stays of the order of
    /// float32 rounding of the terms).
    static func matmul(_ x: [Float], rows: Int, _ w: PackedMatrix) -> [Float] {
        precondition(x.count == rows * w.inner, "matmul: \(x.count) values for [\(rows), \(w.inner)]")
        var y = [Float](repeating: 0, count: rows * w.columns)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                guard let xBase = x.baseAddress, let yBase = y.baseAddress else { return }
                Gemm.multiply(xBase, rows: rows, w, into: yBase)
            }
        }
        return y
    }

    static func addBias(_ y: inout [Float], _ bias: [Float]) {
        let columns = bias.count
        y.withUnsafeMutableBufferPointer { y in
            for start in stride(from: 0, to: y.count, by: columns) {
                for j in 0..<columns { y[start + j] += bias[j] }
            }
        }
    }

    /// `x * scale[c] + offset[c]` where the channel `c` of flat index `i` is `(i / inner) % channels`.
    static func scaleAndShift(_ x: [Float], _ scale: [Float], _ offset: [Float], inner: Int) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        let channels = scale.count
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                if inner == 1 {
                    for start in stride(from: 0, to: x.count, by: channels) {
                        for c in 0..<channels { y[start + c] = x[start + c] * scale[c] + offset[c] }
                    }
                } else {
                    for i in 0..<x.count {
                        let c = (i / inner) % channels
                        y[i] = x[i] * scale[c] + offset[c]
                    }
                }
            }
        }
        return y
    }

    static func activate(_ y: inout [Float], _ activation: Activation, lastDimension: Int) {
        switch activation {
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
        case .softplus:
            for i in y.indices { y[i] = softplus(y[i]) }
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
