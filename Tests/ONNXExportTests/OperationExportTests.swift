import Foundation
import NumPyFormat
import ONNXExport
import ONNXFormat
import ParityModel
import TensorCore
import TestSupport
import Testing

/// Deterministic values in `range` (SplitMix64), so every run feeds the same numbers.
func values(_ count: Int, seed: UInt64, in range: ClosedRange<Float> = -1...1) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
    return (0..<count).map { _ in
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let unit = Float(z >> 40) / Float(1 << 24)
        return range.lowerBound + unit * (range.upperBound - range.lowerBound)
    }
}

/// A small model of one or two operations, its input shape and the opset to export it at: what the fixtures do not
/// cover (every activation, the ReLU layer's forms, batch norm off the channel axis, odd SAME windows, …).
struct OperationCase: Sendable, CustomTestStringConvertible {
    var name: String
    var layers: [Layer]
    var parameters: [String: Tensor]
    var inputShape: [Int]
    var opset = ONNXModel.defaultOpset
    var testDescription: String { name }

    var model: Model { Model(layers: layers, parameters: parameters) }

    static func weight(_ shape: [Int], seed: UInt64, in range: ClosedRange<Float> = -1...1) -> Tensor {
        Tensor(shape: shape, floats: values(shape.reduce(1, *), seed: seed, in: range))
    }

    /// `conv` (3×3 SAME, 3 → 4 channels) with `activation`, on a `[2, 5, 6, 3]` input: the activation runs NCHW.
    static func convolution(_ name: String, _ activation: Activation, opset: Int = ONNXModel.defaultOpset)
        -> OperationCase
    {
        OperationCase(
            name: name,
            layers: [
                Layer(
                    name: "conv",
                    op: Conv2D(Convolution2D(kernelSize: [3, 3], padding: .same), activation: activation),
                    inputs: ["input"])
            ],
            parameters: ["conv/kernel": weight([3, 3, 3, 4], seed: 1), "conv/bias": weight([4], seed: 2)],
            inputShape: [2, 5, 6, 3], opset: opset)
    }

    static func single(
        _ name: String, _ op: any LayerOperation, inputShape: [Int], _ parameters: [String: Tensor] = [:]
    )
        -> OperationCase
    {
        OperationCase(
            name: name, layers: [Layer(name: "layer", op: op, inputs: ["input"])],
            parameters: Dictionary(uniqueKeysWithValues: parameters.map { ("layer/\($0.key)", $0.value) }),
            inputShape: inputShape)
    }

    static func batchNorm(channels: Int, seed: UInt64, scaled: Bool = true) -> [String: Tensor] {
        var parameters = [
            "moving_mean": weight([channels], seed: seed),
            "moving_variance": weight([channels], seed: seed + 1, in: 0.1...2),
        ]
        if scaled {
            parameters["gamma"] = weight([channels], seed: seed + 2, in: 0.5...1.5)
            parameters["beta"] = weight([channels], seed: seed + 3)
        }
        return parameters
    }

    static let all: [OperationCase] = {
        var cases: [OperationCase] = [
            .linear, .relu, .relu6, .elu(alpha: 1), .elu(alpha: 0.5), .selu, .sigmoid, .tanh, .softmax,
            .leakyRelu(alpha: 0.1), .hardSigmoid, .hardSigmoidKeras2, .swish, .gelu, .softplus, .softsign,
            .exponential,
        ].map { convolution("conv + \($0.name)\($0.alpha.map { "(\($0))" } ?? "")", $0) }
        cases.append(convolution("conv + gelu at opset 19 (Erf formula)", .gelu, opset: 19))
        cases.append(convolution("conv + swish at opset 11", .swish, opset: 11))
        for (name, relu) in [
            ("max_value 6", ReLU(maxValue: 6)), ("threshold 0.5", ReLU(threshold: 0.5)),
            ("negative_slope 0.1", ReLU(negativeSlope: 0.1)),
            ("threshold, slope, max_value", ReLU(maxValue: 0.8, negativeSlope: 0.1, threshold: 0.25)),
            ("slope and max_value", ReLU(maxValue: 0.5, negativeSlope: 0.2)),
        ] {
            cases.append(single("ReLU layer \(name)", relu, inputShape: [4, 10]))
        }
        cases += [
            single(
                "batchnorm over the last axis of [N, C]", BatchNormalization(epsilon: 1e-3), inputShape: [5, 6],
                batchNorm(channels: 6, seed: 10)),
            single(
                "batchnorm over axis 1 of an image (H)", BatchNormalization(epsilon: 1e-5, axis: 1),
                inputShape: [2, 4, 3, 2], batchNorm(channels: 4, seed: 20)),
            single(
                "batchnorm without gamma and beta", BatchNormalization(epsilon: 0.01), inputShape: [2, 3, 3, 5],
                batchNorm(channels: 5, seed: 30, scaled: false)),
            single(
                "max pool 3×3 / 2 SAME on 7×8",
                MaxPooling2D(Pooling2D(poolSize: [3, 3], strides: [2, 2], padding: .same)),
                inputShape: [2, 7, 8, 3]),
            single(
                "average pool 3×3 / 2 SAME on 7×8",
                AveragePooling2D(Pooling2D(poolSize: [3, 3], strides: [2, 2], padding: .same)),
                inputShape: [2, 7, 8, 3]),
            single(
                "average pool 2×3 / (1, 2) VALID",
                AveragePooling2D(Pooling2D(poolSize: [2, 3], strides: [1, 2], padding: .valid)),
                inputShape: [2, 5, 7, 2]),
            single(
                "depthwise ×2 / 2 SAME",
                DepthwiseConv2D(
                    Convolution2D(kernelSize: [3, 3], strides: [2, 2], padding: .same), depthMultiplier: 2),
                inputShape: [2, 7, 6, 3],
                ["depthwise_kernel": weight([3, 3, 3, 2], seed: 40), "bias": weight([6], seed: 41)]),
            single(
                "conv dilation 2 SAME", Conv2D(Convolution2D(kernelSize: [3, 2], padding: .same, dilation: [2, 2])),
                inputShape: [2, 7, 6, 3], ["kernel": weight([3, 2, 3, 4], seed: 50)]),
            single(
                "separable ×2 VALID + relu",
                SeparableConv2D(Convolution2D(kernelSize: [2, 2]), depthMultiplier: 2, activation: .relu),
                inputShape: [2, 5, 5, 3],
                [
                    "depthwise_kernel": weight([2, 2, 3, 2], seed: 60),
                    "pointwise_kernel": weight([1, 1, 6, 4], seed: 61), "bias": weight([4], seed: 62),
                ]),
            single("softmax over axis -1 of [N, T, C]", Softmax(axis: -1), inputShape: [2, 3, 5]),
            single(
                "zero padding then cropping", ZeroPadding2D(top: 1, bottom: 2, left: 0, right: 3),
                inputShape: [2, 3, 4, 2]),
            single("cropping 0 bottom", Cropping2D(top: 1, bottom: 0, left: 2, right: 1), inputShape: [2, 4, 5, 2]),
            single("rescaling with offset", Rescaling(scale: 1 / 127.5, offset: -1), inputShape: [2, 3, 3, 3]),
        ]
        let conv = Layer(name: "conv", op: Conv2D(Convolution2D(kernelSize: [1, 1])), inputs: ["input"])
        let convKernel = ["conv/kernel": weight([1, 1, 3, 4], seed: 70)]
        cases += [
            OperationCase(
                name: "softmax over axis 1 (H) of a convolution's output",
                layers: [conv, Layer(name: "softmax", op: Softmax(axis: 1), inputs: ["conv"])], parameters: convKernel,
                inputShape: [2, 3, 4, 3]),
            OperationCase(
                name: "concatenate along H, then reshape and a dense layer on 3-D",
                layers: [
                    conv, Layer(name: "concat", op: Concatenate(axis: 1), inputs: ["conv", "conv"]),
                    Layer(name: "reshape", op: Reshape(targetShape: [-1, 4]), inputs: ["concat"]),
                    Layer(name: "dense", op: Dense(activation: .tanh), inputs: ["reshape"]),
                ],
                parameters: convKernel.merging([
                    "dense/kernel": weight([4, 2], seed: 71), "dense/bias": weight([2], seed: 72),
                ]) { a, _ in a },
                inputShape: [2, 3, 4, 3]),
            OperationCase(
                name: "global max pool (keepdims) times the image, dropout last",
                layers: [
                    conv, Layer(name: "gmp", op: GlobalMaxPooling2D(keepdims: true), inputs: ["conv"]),
                    Layer(name: "scaled", op: Multiply(), inputs: ["conv", "gmp"]),
                    Layer(name: "sum", op: Add(), inputs: ["scaled", "conv", "gmp"]),
                    Layer(name: "dropout", op: Dropout(rate: 0.5), inputs: ["sum"]),
                ],
                parameters: convKernel, inputShape: [2, 3, 4, 3]),
        ]
        cases += tensorOperations(conv: conv, convKernel: convKernel)
        cases += normalizationsAndResampling(conv: conv, convKernel: convKernel)
        return cases
    }()

    /// The activations, normalisations, 1-D and transposed convolutions, resampling and merging layers added with
    /// LayerNormalization and friends.
    static func normalizationsAndResampling(conv: Layer, convKernel: [String: Tensor]) -> [OperationCase] {
        let image = [2, 3, 4, 3]
        func afterConv(
            _ name: String, _ layers: [Layer], _ parameters: [String: Tensor] = [:], inputShape: [Int] = image
        ) -> OperationCase {
            OperationCase(
                name: name, layers: [conv] + layers, parameters: convKernel.merging(parameters) { a, _ in a },
                inputShape: inputShape)
        }
        func layer(_ name: String, _ op: any LayerOperation, _ inputs: [String]) -> Layer {
            Layer(name: name, op: op, inputs: inputs)
        }
        var cases: [OperationCase] = [
            .geluApproximate, .hardSilu, .mish, .logSoftmax, .celu(alpha: 0.5), .hardShrink, .hardTanh, .logSigmoid,
            .softShrink, .sparsePlus, .sparseSigmoid, .sparsemax, .squareplus, .tanhShrink,
        ].map { convolution("conv + \($0.name)\($0.alpha.map { "(\($0))" } ?? "")", $0) }
        cases.append(convolution("conv + gelu_approximate at opset 19 (its formula)", .geluApproximate, opset: 19))
        cases.append(convolution("conv + celu at opset 11 (its formula)", .celu(alpha: 1), opset: 11))
        cases += [
            afterConv("glu of a convolution (channels-first halves)", [layer("out", ActivationLayer(.glu), ["conv"])]),
            single("glu of [N, 6]", ActivationLayer(.glu), inputShape: [3, 6]),
            single("sparsemax of [N, 7]", ActivationLayer(.sparsemax), inputShape: [3, 7]),
            single("log_softmax of [N, T, C]", ActivationLayer(.logSoftmax), inputShape: [2, 3, 5]),
            single(
                "grouped conv, 2 groups, SAME", Conv2D(Convolution2D(kernelSize: [3, 3], padding: .same), groups: 2),
                inputShape: [2, 5, 6, 4], ["kernel": weight([3, 3, 2, 6], seed: 80), "bias": weight([6], seed: 81)]),
            single(
                "conv1d SAME stride 2, 2 groups",
                Conv1D(Convolution1D(kernelSize: 3, stride: 2, padding: .same), activation: .relu, groups: 2),
                inputShape: [2, 9, 4], ["kernel": weight([3, 2, 6], seed: 82), "bias": weight([6], seed: 83)]),
            single(
                "conv1d causal dilation 2", Conv1D(Convolution1D(kernelSize: 3, padding: .causal, dilation: 2)),
                inputShape: [2, 8, 3], ["kernel": weight([3, 3, 4], seed: 84)]),
            single(
                "conv1d VALID + softmax over the channels",
                Conv1D(Convolution1D(kernelSize: 2), activation: .softmax), inputShape: [2, 6, 3],
                ["kernel": weight([2, 3, 5], seed: 85)]),
            single(
                "depthwise conv1d ×2 causal",
                DepthwiseConv1D(Convolution1D(kernelSize: 3, padding: .causal), depthMultiplier: 2),
                inputShape: [2, 7, 3],
                ["depthwise_kernel": weight([3, 3, 2], seed: 86), "bias": weight([6], seed: 87)]),
            single(
                "separable conv1d ×2 SAME stride 2 + tanh",
                SeparableConv1D(
                    Convolution1D(kernelSize: 3, stride: 2, padding: .same), depthMultiplier: 2, activation: .tanh),
                inputShape: [2, 7, 3],
                [
                    "depthwise_kernel": weight([3, 3, 2], seed: 88), "pointwise_kernel": weight([1, 6, 4], seed: 89),
                    "bias": weight([4], seed: 90),
                ]),
            single(
                "conv2d transpose 3×3 / 2 SAME",
                Conv2DTranspose(Convolution2D(kernelSize: [3, 3], strides: [2, 2], padding: .same)),
                inputShape: [2, 3, 4, 3], ["kernel": weight([3, 3, 5, 3], seed: 91), "bias": weight([5], seed: 92)]),
            single(
                "conv2d transpose 2×2 / 3 VALID (stride above the kernel)",
                Conv2DTranspose(Convolution2D(kernelSize: [2, 2], strides: [3, 3]), activation: .relu),
                inputShape: [2, 3, 2, 3], ["kernel": weight([2, 2, 4, 3], seed: 93)]),
            single(
                "conv2d transpose 3×3 / 2 SAME, output_padding (0, 1)",
                Conv2DTranspose(
                    Convolution2D(kernelSize: [3, 3], strides: [2, 2], padding: .same), outputPadding: [0, 1]),
                inputShape: [2, 3, 4, 3], ["kernel": weight([3, 3, 2, 3], seed: 94)]),
            single(
                "conv2d transpose 4×3 / 2 VALID, output_padding 1",
                Conv2DTranspose(Convolution2D(kernelSize: [4, 3], strides: [2, 2]), outputPadding: [1, 1]),
                inputShape: [2, 3, 3, 2], ["kernel": weight([4, 3, 2, 2], seed: 95)]),
            single(
                "conv2d transpose 3×3 dilation 2 SAME",
                Conv2DTranspose(Convolution2D(kernelSize: [3, 3], padding: .same, dilation: [2, 2])),
                inputShape: [2, 5, 4, 2], ["kernel": weight([3, 3, 3, 2], seed: 96)]),
            afterConv("upsampling 2×3 nearest", [layer("out", UpSampling2D(size: [2, 3]), ["conv"])]),
            afterConv(
                "upsampling 2×3 bilinear",
                [layer("out", UpSampling2D(size: [2, 3], interpolation: .bilinear), ["conv"])]),
            afterConv("permute (2, 1, 3) of conv", [layer("out", Permute(dims: [2, 1, 3]), ["conv"])]),
            afterConv("permute (3, 1, 2) of conv: no node", [layer("out", Permute(dims: [3, 1, 2]), ["conv"])]),
            single("permute (2, 1) of [N, T, C]", Permute(dims: [2, 1]), inputShape: [2, 3, 4]),
            afterConv(
                "subtract, average, maximum, minimum of conv and the input's channel mean",
                [
                    layer("mean", ReduceMean(axes: [-1], keepdims: true), ["input"]),
                    layer("sub", Subtract(), ["conv", "mean"]), layer("max", Maximum(), ["sub", "conv", "mean"]),
                    layer("min", Minimum(), ["max", "sub"]), layer("out", Average(), ["min", "conv", "sub"]),
                ]),
            afterConv(
                "custom scale 0.17 of conv and its relu",
                [
                    layer("relu", ActivationLayer(.relu), ["conv"]),
                    layer("out", CustomScale(scale: 0.17), ["conv", "relu"]),
                ]),
            afterConv(
                "layer scale of conv", [layer("out", LayerScale(), ["conv"])],
                ["out/gamma": weight([4], seed: 97, in: 0.1...2)]),
            single(
                "normalization (adapted, per channel)", Normalization(axis: [-1]), inputShape: image,
                ["mean": weight([3], seed: 98), "variance": weight([3], seed: 99, in: 0.1...2)]),
            afterConv(
                "normalization of conv (constants, per channel) inverted",
                [
                    layer(
                        "out",
                        Normalization(
                            axis: [-1], invert: true, mean: [0.5, -0.25, 1, 0], variance: [4, 0.25, 1, 0]),
                        ["conv"])
                ]),
            afterConv(
                "normalization of conv over axes H, C (constants [3, 4])",
                [
                    layer(
                        "out",
                        Normalization(
                            axis: [1, 3], mean: values(12, seed: 100), variance: values(12, seed: 101, in: 0.5...2),
                            constantShape: [3, 4]), ["conv"])
                ]),
            single(
                "normalization with one scalar (axis [])",
                Normalization(axis: [], mean: [0.5], variance: [2], constantShape: []), inputShape: [2, 5]),
            afterConv(
                "layer normalization over the channels of conv",
                [layer("out", LayerNormalization(axis: [-1], epsilon: 1e-3), ["conv"])],
                ["out/gamma": weight([4], seed: 102, in: 0.5...1.5), "out/beta": weight([4], seed: 103)]),
            afterConv(
                "layer normalization (fused) over the channels of conv",
                [layer("out", LayerNormalization(axis: [-1], epsilon: 1e-3, fused: true), ["conv"])],
                ["out/gamma": weight([4], seed: 104, in: 0.5...1.5), "out/beta": weight([4], seed: 105)]),
            afterConv(
                "layer normalization over H, W, C without gamma",
                [layer("out", LayerNormalization(axis: [1, 2, 3], epsilon: 1e-5), ["conv"])],
                ["out/beta": weight([3, 4, 4], seed: 106)]),
            single(
                "layer normalization over axis 1 of [N, T, C]", LayerNormalization(axis: [1], epsilon: 1e-3),
                inputShape: [2, 5, 3], ["gamma": weight([5], seed: 107, in: 0.5...1.5)]),
            afterConv(
                "group normalization, 2 groups, of conv", [layer("out", GroupNormalization(groups: 2), ["conv"])],
                ["out/gamma": weight([4], seed: 108, in: 0.5...1.5), "out/beta": weight([4], seed: 109)]),
            single(
                "group normalization, 3 groups, of [N, T, C] without gamma and beta",
                GroupNormalization(groups: 3, epsilon: 1e-5), inputShape: [2, 5, 6]),
        ]
        var resizeBefore13 = afterConv(
            "upsampling bilinear at opset 12",
            [layer("out", UpSampling2D(size: [2, 2], interpolation: .bilinear), ["conv"])])
        resizeBefore13.opset = 12
        cases.append(resizeBefore13)
        return cases
    }

    /// The TF-function operations (`identity`, `elementwise`, `reduce_mean`, `transpose`, `strided_slice`), each on
    /// an NHWC input and on a convolution's channels-first output, where their axes are remapped.
    static func tensorOperations(conv: Layer, convKernel: [String: Tensor]) -> [OperationCase] {
        let image = [2, 3, 4, 3]
        func afterConv(_ name: String, _ layers: [Layer], inputShape: [Int] = image) -> OperationCase {
            OperationCase(name: name, layers: [conv] + layers, parameters: convKernel, inputShape: inputShape)
        }
        func layer(_ name: String, _ op: any LayerOperation, _ inputs: [String]) -> Layer {
            Layer(name: name, op: op, inputs: inputs)
        }
        var cases: [OperationCase] = []
        // Two tensors: the convolution's output (NCHW, 4 channels) with the input's channel mean (NHWC, broadcast
        // along the channels), shifted into [1, 7] to divide by.
        for function in Elementwise.Function.allCases {
            let layers = [
                layer("mean", ReduceMean(axes: [-1], keepdims: true), ["input"]),
                layer("shifted", Elementwise(.add, constant: 4), ["mean"]),
                layer("out", Elementwise(function), ["conv", "shifted"]),
            ]
            cases.append(afterConv("elementwise \(function.rawValue) of conv and the input's channel mean", layers))
        }
        for (name, op) in [
            ("1 - x", Elementwise(.subtract, constant: 1, constantFirst: true)),
            ("x / 3", Elementwise(.divide, constant: 3)), ("6 / (x + 4)", Elementwise(.divide, constant: 6)),
            ("maximum(x, 0.5)", Elementwise(.maximum, constant: 0.5)),
            ("minimum(-0.25, x)", Elementwise(.minimum, constant: -0.25, constantFirst: true)),
            ("x * 1.5", Elementwise(.multiply, constant: 1.5)),
        ] {
            let inner = name == "6 / (x + 4)" ? [layer("shifted", Elementwise(.add, constant: 4), ["conv"])] : []
            cases.append(
                afterConv(
                    "elementwise \(name) after conv", inner + [layer("out", op, [inner.isEmpty ? "conv" : "shifted"])]))
        }
        cases += [
            afterConv(
                "x - mean over H, W (keepdims): broadcast [N, 1, 1, C] channels-first",
                [
                    layer("mean", ReduceMean(axes: [1, 2], keepdims: true), ["conv"]),
                    layer("out", Elementwise(.subtract), ["conv", "mean"]),
                ]),
            OperationCase(
                name: "elementwise of ranks 3 and 2 (the batch's mean broadcast)",
                layers: [
                    layer("mean", ReduceMean(axes: [0]), ["input"]),
                    layer("out", Elementwise(.multiply), ["input", "mean"]),
                ], parameters: [:], inputShape: [2, 4, 5]),
            afterConv("reduce_mean over H, W of conv", [layer("out", ReduceMean(axes: [1, 2]), ["conv"])]),
            afterConv(
                "subtract of conv and its relu",
                [layer("relu", ActivationLayer(.relu), ["conv"]), layer("out", Subtract(), ["conv", "relu"])]),
            afterConv(
                "average of conv and its relu",
                [layer("relu", ActivationLayer(.relu), ["conv"]), layer("out", Average(), ["conv", "relu"])]),
            afterConv(
                "maximum and minimum of conv and its tanh",
                [
                    layer("tanh", ActivationLayer(.tanh), ["conv"]), layer("max", Maximum(), ["conv", "tanh"]),
                    layer("out", Minimum(), ["max", "tanh"]),
                ]),
            afterConv(
                "custom scale (InceptionResNetV2) of conv and its relu",
                [
                    layer("relu", ActivationLayer(.relu), ["conv"]),
                    layer("out", CustomScale(scale: 0.17), ["conv", "relu"]),
                ]),
            afterConv("permute of conv", [layer("out", Permute(dims: [3, 1, 2]), ["conv"])]),
            afterConv(
                "reduce_mean over H of conv (NHWC order differs)", [layer("out", ReduceMean(axes: [1]), ["conv"])]),
            afterConv("reduce_mean over C of conv", [layer("out", ReduceMean(axes: [-1]), ["conv"])]),
            afterConv(
                "reduce_mean over W, keepdims, of conv", [layer("out", ReduceMean(axes: [2], keepdims: true), ["conv"])]
            ),
            afterConv(
                "reduce_mean over every axis (keepdims)",
                [layer("out", ReduceMean(axes: nil, keepdims: true), ["conv"])]),
            single("reduce_mean over the batch of [N, T, C]", ReduceMean(axes: [0]), inputShape: [3, 4, 5]),
            single("reduce_mean over axes -1 and 1 of [N, T, C]", ReduceMean(axes: [-1, 1]), inputShape: [3, 4, 5]),
            single("reduce_mean over no axes", ReduceMean(axes: []), inputShape: [3, 4, 5]),
            afterConv(
                "transpose (0, 3, 1, 2) of conv: no node", [layer("out", Transpose(perm: [0, 3, 1, 2]), ["conv"])]),
            afterConv(
                "transpose (0, 2, 1, 3) of conv, then max pool",
                [
                    layer("t", Transpose(perm: [0, 2, 1, 3]), ["conv"]),
                    layer("out", MaxPooling2D(Pooling2D(poolSize: [2, 2], strides: [1, 1], padding: .valid)), ["t"]),
                ]),
            afterConv(
                "transpose (3, 1, 2, 0) of conv: the batch moves, then flatten",
                [layer("t", Transpose(perm: [3, 1, 2, 0]), ["conv"]), layer("out", Flatten(), ["t"])]),
            single("transpose (0, 2, 3, 1) of the NHWC input", Transpose(perm: [0, 2, 3, 1]), inputShape: image),
            afterConv(
                "transpose (0, 2, 3, 1) of the NHWC input, then flatten",
                [layer("t", Transpose(perm: [0, 2, 3, 1]), ["input"]), layer("out", Flatten(), ["t"])]),
            single("transpose (1, 0, 2) of [N, T, C]", Transpose(perm: [1, 0, 2]), inputShape: [2, 3, 4]),
            afterConv(
                "strided slice [:, 1:3, ::-1, 0:3:2] of conv",
                [
                    layer(
                        "out",
                        StridedSlice(axes: [
                            .init(), .init(start: 1, stop: 3), .init(step: -1), .init(start: 0, stop: 3, step: 2),
                        ]), ["conv"])
                ]),
            afterConv(
                "strided slice [:, 1] of conv (index drops H)",
                [layer("out", StridedSlice(axes: [.init(), .init(index: 1)]), ["conv"])]),
            afterConv(
                "strided slice [:, :, :, -1] of conv (index drops C)",
                [layer("out", StridedSlice(axes: [.init(), .init(), .init(), .init(index: -1)]), ["conv"])]),
            single(
                "strided slice [:, -100:2, 5:-100:-2] (clamped)",
                StridedSlice(axes: [.init(), .init(start: -100, stop: 2), .init(start: 5, stop: -100, step: -2)]),
                inputShape: [2, 4, 5]),
            single(
                "strided slice [:, 3::-2, -2:] (negative step, end before the axis)",
                StridedSlice(axes: [.init(), .init(start: 3, stop: nil, step: -2), .init(start: -2)]),
                inputShape: [2, 4, 5]),
            single(
                "strided slice of the batch [1:, ::-1]",
                StridedSlice(axes: [.init(start: 1), .init(step: -1)]), inputShape: [3, 4, 5]),
            single("strided slice of the batch [::-2]", StridedSlice(axes: [.init(step: -2)]), inputShape: [3, 4, 5]),
            single("strided slice [-1] (batch index)", StridedSlice(axes: [.init(index: -1)]), inputShape: [3, 4, 5]),
            afterConv(
                "identity of conv, then softmax over H",
                [layer("id", IdentityLayer(), ["conv"]), layer("out", Softmax(axis: 1), ["id"])]),
        ]
        // Before opset 18 ReduceMean's axes are an attribute; before 13 Squeeze's.
        var attributeAxes = afterConv(
            "reduce_mean over H of conv at opset 17", [layer("out", ReduceMean(axes: [1]), ["conv"])])
        attributeAxes.opset = 17
        var squeezeAttribute = afterConv(
            "strided slice [:, 1, ::2] of conv at opset 12",
            [layer("out", StridedSlice(axes: [.init(), .init(index: 1), .init(step: 2)]), ["conv"])])
        squeezeAttribute.opset = 12
        return cases + [attributeAxes, squeezeAttribute]
    }
}

/// Each operation's lowering computes what the engine's kernel computes: onnxruntime's output on a deterministic
/// input matches tfparity's engine at verify's default tolerance.
@Suite struct OperationExportTests {
    @Test(
        .enabled(if: ONNXCheck.python != nil || ONNXCheck.isRequired, Comment(rawValue: ONNXCheck.skipReason)),
        arguments: OperationCase.all)
    func onnxruntimeMatchesTheEngine(_ testCase: OperationCase) throws {
        let python = try #require(ONNXCheck.python, "\(ONNXCheck.skipReason)")
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let model = testCase.model
        let input = FloatTensor(
            shape: testCase.inputShape, values: values(testCase.inputShape.reduce(1, *), seed: 99, in: -3...3))
        let output = try Engine(model: model, matrixProduct: .portable).run(input)
        let expected = directory.appendingPathComponent("expected.npz").path
        try NPZWriter.write(
            [
                ("input", Tensor(shape: input.shape, floats: input.values)),
                ("output", Tensor(shape: output.shape, floats: output.values)),
            ], to: expected)
        let onnx = directory.appendingPathComponent("model.onnx").path
        try ONNXExporter.export(
            model: model,
            options: ONNXExportOptions(opset: testCase.opset, inputShapes: [Model.inputName: testCase.inputShape])
        ).write(to: onnx)
        let check = try ONNXCheck.run(python, model: onnx, expect: expected, atol: 1e-5, rtol: 1e-4)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        if let errors = ONNXCheck.errors(in: check.stdout) {
            print("onnx operation \(testCase.name): max abs error \(errors.abs), max rel error \(errors.rel)")
        }
    }
}

/// The exporter's own rules, checked without a runtime.
@Suite struct ExporterTests {
    /// An operation no lowering knows.
    struct Unlowered: LayerOperation {
        static let typeName = "test_unlowered"
        func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) -> ValueShape { inputs[0] }
        func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
            Passthrough()
        }
        struct Passthrough: PreparedOperation {
            func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor { inputs[0] }
        }
    }

    /// Every operation the engine runs has a lowering: a new operation needs its `Lowerings/` file.
    @Test(arguments: LayerRegistry.operations.map { $0.typeName })
    func everyOperationHasALowering(_ typeName: String) {
        #expect(ONNXLoweringRegistry.standard.lowering(for: typeName) != nil, "no ONNX lowering for '\(typeName)'")
    }

    @Test func aLayerWithoutALoweringIsNamed() {
        let model = Model(
            layers: [
                Layer(name: "dense", op: Dense(), inputs: ["input"]),
                Layer(name: "mystery", op: Unlowered(), inputs: ["dense"]),
            ], parameters: ["dense/kernel": OperationCase.weight([3, 2], seed: 1)])
        #expect(throws: ONNXExportError.unsupportedLayer(layer: "mystery", type: "test_unlowered")) {
            try ONNXExporter.export(model: model)
        }
        // A registry without Softmax's lowering refuses the softmax layer the same way.
        let partial = ONNXLoweringRegistry(ONNXLoweringRegistry.lowerings.filter { $0.operation.typeName != "softmax" })
        let softmax = OperationCase.single("softmax", Softmax(), inputShape: [2, 3]).model
        #expect(throws: ONNXExportError.unsupportedLayer(layer: "layer", type: "softmax")) {
            try ONNXExporter.export(model: softmax, lowerings: partial)
        }
    }

    @Test func softmaxNeedsOpset13() throws {
        let model = OperationCase.convolution("conv + softmax", .softmax).model
        #expect {
            try ONNXExporter.export(model: model, options: ONNXExportOptions(opset: 12))
        } throws: { error in
            guard case .opsetTooLow(let layer, let type, let needs, let opset, _) = error as? ONNXExportError else {
                return false
            }
            return layer == "conv" && type == "conv2d" && needs == 13 && opset == 12
        }
        _ = try ONNXExporter.export(model: model, options: ONNXExportOptions(opset: 13))
        #expect(throws: ONNXExportError.unsupportedOpset(10)) {
            try ONNXExporter.export(model: model, options: ONNXExportOptions(opset: 10))
        }
    }

    /// NHWC edges: one Transpose after the input, none elsewhere for a chain of image operators ending in a global
    /// pool; NCHW edges: none at all, the input declared `[N, C, H, W]`.
    @Test func transposesOnlyAtLayoutBoundaries() throws {
        let model = Model(
            layers: [
                Layer(name: "conv", op: Conv2D(Convolution2D(kernelSize: [3, 3], padding: .same)), inputs: ["input"]),
                Layer(name: "bn", op: BatchNormalization(epsilon: 1e-3), inputs: ["conv"]),
                Layer(name: "relu", op: ActivationLayer(.relu), inputs: ["bn"]),
                Layer(name: "gap", op: GlobalAveragePooling2D(), inputs: ["relu"]),
            ],
            parameters: ["conv/kernel": OperationCase.weight([3, 3, 3, 4], seed: 1)].merging(
                OperationCase.batchNorm(channels: 4, seed: 2).map { ("bn/\($0.key)", $0.value) }
            ) { a, _ in a })
        let shapes = [Model.inputName: [1, 7, 8, 3]]
        let nhwc = try ONNXExporter.export(model: model, options: ONNXExportOptions(inputShapes: shapes))
        #expect(
            nhwc.graph.nodes.map(\.opType) == [
                "Transpose", "Conv", "BatchNormalization", "Relu", "GlobalAveragePool", "Flatten", "Identity",
            ])
        #expect(nhwc.graph.inputs.map(\.shape) == [["N", 7, 8, 3]])
        #expect(nhwc.graph.outputs.map(\.name) == ["output"])
        #expect(nhwc.graph.outputs.map(\.shape) == [["N", 4]])
        // 7 rows: SAME 3×3 / 1 pads 1 and 1; the BN's epsilon is the model's, exactly.
        let conv = try #require(nhwc.graph.nodes.first { $0.opType == "Conv" })
        #expect(conv.attributes.contains(.ints("pads", [1, 1, 1, 1])))
        let bn = try #require(nhwc.graph.nodes.first { $0.opType == "BatchNormalization" })
        #expect(bn.attributes == [.float("epsilon", Float(1e-3))])

        let nchw = try ONNXExporter.export(model: model, options: ONNXExportOptions(layout: .nchw, inputShapes: shapes))
        #expect(!nchw.graph.nodes.contains { $0.opType == "Transpose" })
        #expect(nchw.graph.inputs.map(\.shape) == [["N", 3, 7, 8]])
        #expect(nchw.metadata.contains(ONNXStringEntry(key: "layout", value: "nchw")))
    }

    /// Several inputs are read under their Keras names (`input/a` → `a`), several outputs written under their layers'
    /// names in the model's order; one of each stays `input` and `output`.
    @Test func severalInputsAndOutputsAreNamedAfterTheModel() throws {
        var model = Model(
            layers: [
                Layer(name: "sum", op: Elementwise(.add), inputs: ["input/a", "input/b"]),
                Layer(name: "aux", op: ReduceMean(axes: [-1]), inputs: ["sum"]),
            ], parameters: [:])
        model.inputNames = ["input/a", "input/b"]
        model.declaredOutputs = ["sum", "aux"]
        let exported = try ONNXExporter.export(
            model: model, options: ONNXExportOptions(inputShapes: ["input/a": [1, 3], "input/b": [1, 3]]))
        #expect(exported.graph.inputs.map(\.name) == ["a", "b"])
        #expect(exported.graph.outputs.map(\.name) == ["sum", "aux"])
        #expect(exported.graph.outputs.map(\.shape) == [["N", 3], ["N"]])
    }

    @Test func samePaddingIsTensorFlows() {
        // out = ceil(in / s); total = max((out − 1)·s + (k − 1)·d + 1 − in, 0); before = total / 2.
        #expect(WindowAttributesProbe.same(input: 8, kernel: 3, stride: 2) == [0, 1])
        #expect(WindowAttributesProbe.same(input: 7, kernel: 3, stride: 2) == [1, 1])
        #expect(WindowAttributesProbe.same(input: 7, kernel: 4, stride: 1) == [1, 2])
        #expect(WindowAttributesProbe.same(input: 5, kernel: 3, stride: 1, dilation: 2) == [2, 2])
        #expect(WindowAttributesProbe.same(input: 2, kernel: 1, stride: 3) == [0, 0])
    }
}

/// The pads `ONNXExporter` writes for one SAME axis, read from the Conv node of a one-layer model.
enum WindowAttributesProbe {
    static func same(input: Int, kernel: Int, stride: Int, dilation: Int = 1) -> [Int] {
        let op = Conv2D(
            Convolution2D(kernelSize: [kernel, 1], strides: [stride, 1], padding: .same, dilation: [dilation, 1]))
        let model = Model(
            layers: [Layer(name: "conv", op: op, inputs: ["input"])],
            parameters: ["conv/kernel": OperationCase.weight([kernel, 1, 1, 1], seed: 3)])
        guard
            let exported = try? ONNXExporter.export(
                model: model, options: ONNXExportOptions(inputShapes: [Model.inputName: [1, input, 1, 1]])),
            let conv = exported.graph.nodes.first(where: { $0.opType == "Conv" }),
            let pads = conv.attributes.first(where: { $0.name == "pads" }), case .ints(let values) = pads.value
        else { return [] }
        return [Int(values[0]), Int(values[2])]
    }
}
