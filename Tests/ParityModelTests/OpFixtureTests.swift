import Foundation
import NumPyFormat
import ParityModel
import TensorCore
import TestSupport
import Testing

/// Every engine op against the values Keras 3 on TensorFlow computed (Fixtures/ops, Scripts/fixtures/keras_ops.py).
@Suite struct OpFixtureTests {
    struct OpCase: Sendable, CustomTestStringConvertible {
        var name: String
        var op: any LayerOperation
        var testDescription: String { name }
    }

    static func conv(
        _ kernel: [Int], strides: [Int] = [1, 1], _ padding: Padding = .valid, dilation: [Int] = [1, 1]
    ) -> Convolution2D {
        Convolution2D(kernelSize: kernel, strides: strides, padding: padding, dilation: dilation)
    }

    static let cases: [OpCase] = [
        OpCase(name: "conv2d_valid", op: Conv2D(conv([3, 3]), activation: .linear)),
        OpCase(name: "conv2d_same_stride2", op: Conv2D(conv([3, 3], strides: [2, 2], .same), activation: .linear)),
        OpCase(
            name: "conv2d_same_even_kernel", op: Conv2D(conv([4, 2], strides: [2, 3], .same), activation: .linear)),
        OpCase(name: "conv2d_dilation_relu", op: Conv2D(conv([3, 3], .same, dilation: [2, 2]), activation: .relu)),
        OpCase(name: "conv2d_1x1", op: Conv2D(conv([1, 1]), activation: .linear)),
        OpCase(
            name: "depthwise_multiplier2",
            op: DepthwiseConv2D(conv([3, 3], strides: [2, 2], .same), depthMultiplier: 2, activation: .linear)),
        OpCase(
            name: "depthwise_valid_nobias", op: DepthwiseConv2D(conv([3, 2]), depthMultiplier: 1, activation: .linear)
        ),
        OpCase(
            name: "separable_relu", op: SeparableConv2D(conv([3, 3], .same), depthMultiplier: 2, activation: .relu)),
        OpCase(name: "zero_padding", op: ZeroPadding2D(top: 1, bottom: 2, left: 3, right: 0)),
        OpCase(name: "cropping2d_symmetric", op: Cropping2D(top: 1, bottom: 1, left: 1, right: 1)),
        OpCase(name: "cropping2d_symmetric_keras2", op: Cropping2D(top: 1, bottom: 1, left: 1, right: 1)),
        OpCase(name: "cropping2d_asymmetric", op: Cropping2D(top: 1, bottom: 2, left: 0, right: 3)),
        OpCase(name: "cropping2d_asymmetric_keras2", op: Cropping2D(top: 1, bottom: 2, left: 0, right: 3)),
        OpCase(
            name: "max_pool_same", op: MaxPooling2D(Pooling2D(poolSize: [3, 3], strides: [2, 2], padding: .same))),
        OpCase(
            name: "max_pool_valid", op: MaxPooling2D(Pooling2D(poolSize: [2, 2], strides: [2, 2], padding: .valid))),
        OpCase(
            name: "average_pool_same",
            op: AveragePooling2D(Pooling2D(poolSize: [3, 3], strides: [2, 2], padding: .same))),
        OpCase(
            name: "average_pool_valid",
            op: AveragePooling2D(Pooling2D(poolSize: [2, 3], strides: [1, 2], padding: .valid))),
        OpCase(name: "global_average", op: GlobalAveragePooling2D(keepdims: false)),
        OpCase(name: "global_average_keepdims", op: GlobalAveragePooling2D(keepdims: true)),
        OpCase(name: "global_max", op: GlobalMaxPooling2D(keepdims: false)),
        OpCase(name: "flatten", op: Flatten()),
        OpCase(name: "reshape", op: Reshape(targetShape: [-1, 6])),
        OpCase(name: "add3", op: Add()),
        OpCase(name: "multiply_broadcast", op: Multiply()),
        OpCase(name: "concatenate_last", op: Concatenate(axis: -1)),
        OpCase(name: "concatenate_axis1", op: Concatenate(axis: 1)),
        OpCase(name: "relu_max6", op: ReLU(maxValue: 6, negativeSlope: 0, threshold: 0)),
        OpCase(name: "relu_slope_threshold", op: ReLU(maxValue: nil, negativeSlope: 0.1, threshold: 0.5)),
        OpCase(name: "relu_max_slope", op: ReLU(maxValue: 2.5, negativeSlope: 0.2, threshold: 0)),
        OpCase(name: "relu_threshold", op: ReLU(maxValue: nil, negativeSlope: 0, threshold: 1)),
        OpCase(name: "softmax_axis1", op: Softmax(axis: 1)),
        OpCase(name: "leaky_relu", op: ActivationLayer(.leakyRelu(alpha: 0.3))),
        OpCase(name: "rescaling", op: Rescaling(scale: Float(1 / 127.5), offset: -1)),
        OpCase(name: "activation_hard_sigmoid", op: ActivationLayer(.hardSigmoid)),
        OpCase(name: "activation_hard_sigmoid_keras2", op: ActivationLayer(.hardSigmoidKeras2)),
        OpCase(name: "activation_swish", op: ActivationLayer(.swish)),
        OpCase(name: "activation_gelu", op: ActivationLayer(.gelu)),
        OpCase(name: "activation_softplus", op: ActivationLayer(.softplus)),
        OpCase(name: "activation_softsign", op: ActivationLayer(.softsign)),
        OpCase(name: "activation_exponential", op: ActivationLayer(.exponential)),
        OpCase(name: "activation_elu", op: ActivationLayer(.elu(alpha: 1))),
        OpCase(name: "activation_selu", op: ActivationLayer(.selu)),
        OpCase(name: "activation_celu", op: ActivationLayer(.celu(alpha: 1))),
        OpCase(name: "activation_glu", op: ActivationLayer(.glu)),
        OpCase(name: "activation_hard_shrink", op: ActivationLayer(.hardShrink)),
        OpCase(name: "activation_hard_silu", op: ActivationLayer(.hardSilu)),
        OpCase(name: "activation_hard_swish", op: ActivationLayer(.hardSilu)),
        OpCase(name: "activation_hard_tanh", op: ActivationLayer(.hardTanh)),
        OpCase(name: "activation_log_sigmoid", op: ActivationLayer(.logSigmoid)),
        OpCase(name: "activation_log_softmax", op: ActivationLayer(.logSoftmax)),
        OpCase(name: "activation_log_softmax_keras2", op: ActivationLayer(.logSoftmax)),
        OpCase(name: "activation_mish", op: ActivationLayer(.mish)),
        OpCase(name: "activation_mish_keras2", op: ActivationLayer(.mish)),
        OpCase(name: "activation_relu6", op: ActivationLayer(.relu6)),
        OpCase(name: "activation_relu6_keras2", op: ActivationLayer(.relu6)),
        OpCase(name: "activation_silu", op: ActivationLayer(.swish)),
        OpCase(name: "activation_soft_shrink", op: ActivationLayer(.softShrink)),
        OpCase(name: "activation_sparse_plus", op: ActivationLayer(.sparsePlus)),
        OpCase(name: "activation_sparse_sigmoid", op: ActivationLayer(.sparseSigmoid)),
        OpCase(name: "activation_sparsemax", op: ActivationLayer(.sparsemax)),
        OpCase(name: "activation_squareplus", op: ActivationLayer(.squareplus)),
        OpCase(name: "activation_tanh_shrink", op: ActivationLayer(.tanhShrink)),
        OpCase(name: "activation_gelu_keras2", op: ActivationLayer(.gelu)),
        OpCase(name: "activation_gelu_approximate", op: ActivationLayer(.geluApproximate)),
        OpCase(name: "activation_gelu_approximate_keras2", op: ActivationLayer(.geluApproximate)),
        OpCase(name: "activation_softmax", op: ActivationLayer(.softmax)),
        OpCase(name: "activation_leaky_relu", op: ActivationLayer(.leakyRelu(alpha: 0.2))),
        OpCase(name: "normalization_adapted", op: Normalization(axis: [-1])),
        OpCase(name: "normalization_adapted_keras2", op: Normalization(axis: [-1])),
        OpCase(name: "normalization_invert", op: Normalization(axis: [-1], invert: true)),
        OpCase(name: "normalization_axis_none", op: Normalization(axis: [])),
        OpCase(
            name: "normalization_constants",
            op: Normalization(
                axis: [-1], mean: [0.485, 0.456, 0.406, 0.5], variance: [0.052441, 0.050176, 0.050625, 0.25],
                constantShape: [4])),
        OpCase(name: "layer_norm_last", op: LayerNormalization(axis: [-1], epsilon: 1e-3)),
        OpCase(name: "layer_norm_last_keras2", op: LayerNormalization(axis: [3], epsilon: 1e-3, fused: true)),
        OpCase(name: "layer_norm_123", op: LayerNormalization(axis: [1, 2, 3], epsilon: 1e-6)),
        OpCase(name: "layer_norm_no_center_scale", op: LayerNormalization(axis: [-1], epsilon: 1e-3)),
        OpCase(name: "layer_norm_rank3_keras2", op: LayerNormalization(axis: [2], epsilon: 1e-5)),
        OpCase(name: "group_norm_2", op: GroupNormalization(groups: 2, epsilon: 1e-3)),
        OpCase(name: "group_norm_instance_keras2", op: GroupNormalization(groups: 4, epsilon: 1e-3)),
        OpCase(name: "conv2d_groups2", op: Conv2D(conv([3, 3]), groups: 2)),
        // One input channel per group: computed as a depthwise convolution.
        OpCase(name: "conv2d_groups4_stride2_same", op: Conv2D(conv([3, 3], strides: [2, 2], .same), groups: 4)),
        OpCase(
            name: "conv2d_groups4_stride2_same_keras2", op: Conv2D(conv([3, 3], strides: [2, 2], .same), groups: 4)),
        OpCase(name: "conv2d_groups2_dilation_nobias", op: Conv2D(conv([3, 2], .same, dilation: [2, 2]), groups: 2)),
        OpCase(name: "conv1d_valid", op: Conv1D(Convolution1D(kernelSize: 3))),
        OpCase(name: "conv1d_same_stride2_keras2", op: Conv1D(Convolution1D(kernelSize: 4, stride: 2, padding: .same))),
        OpCase(
            name: "conv1d_causal_dilation", op: Conv1D(Convolution1D(kernelSize: 3, padding: .causal, dilation: 2))),
        OpCase(name: "conv1d_groups2", op: Conv1D(Convolution1D(kernelSize: 3, padding: .same), groups: 2)),
        OpCase(
            name: "depthwise_conv1d",
            op: DepthwiseConv1D(Convolution1D(kernelSize: 3, padding: .same), depthMultiplier: 2)),
        OpCase(
            name: "depthwise_conv1d_stride2_valid_keras2", op: DepthwiseConv1D(Convolution1D(kernelSize: 3, stride: 2))),
        OpCase(
            name: "separable_conv1d",
            op: SeparableConv1D(Convolution1D(kernelSize: 3, padding: .same), depthMultiplier: 2)),
        OpCase(name: "conv2d_transpose_s2_same", op: Conv2DTranspose(conv([3, 3], strides: [2, 2], .same))),
        OpCase(name: "conv2d_transpose_s2_valid_keras2", op: Conv2DTranspose(conv([3, 3], strides: [2, 2]))),
        OpCase(
            name: "conv2d_transpose_output_padding",
            op: Conv2DTranspose(conv([3, 3], strides: [2, 2], .same), outputPadding: [1, 1])),
        OpCase(name: "conv2d_transpose_s2_k2_nobias", op: Conv2DTranspose(conv([2, 2], strides: [2, 3], .same))),
        OpCase(name: "upsampling_nearest_2x3", op: UpSampling2D(size: [2, 3])),
        OpCase(name: "upsampling_nearest_2_keras2", op: UpSampling2D(size: [2, 2])),
        OpCase(name: "upsampling_bilinear_2", op: UpSampling2D(size: [2, 2], interpolation: .bilinear)),
        OpCase(name: "upsampling_bilinear_2x3_keras2", op: UpSampling2D(size: [2, 3], interpolation: .bilinear)),
        OpCase(name: "permute_213", op: Permute(dims: [2, 1, 3])),
        OpCase(name: "permute_312_keras2", op: Permute(dims: [3, 1, 2])),
        OpCase(name: "subtract", op: Subtract()),
        OpCase(name: "average3", op: Average()),
        OpCase(name: "maximum3_keras2", op: Maximum()),
        OpCase(name: "minimum_broadcast", op: Minimum()),
        OpCase(name: "custom_scale_layer", op: CustomScale(scale: 0.17)),
        OpCase(name: "layer_scale", op: LayerScale()),
        OpCase(name: "stochastic_depth", op: Dropout(rate: 0.1)),
        OpCase(name: "batchnorm_axis1", op: BatchNormalization(epsilon: 1e-4, axis: 1)),
        OpCase(name: "batchnorm_no_scale", op: BatchNormalization(epsilon: 1e-3, axis: -1)),
        OpCase(name: "dense_rank3", op: Dense(activation: .tanh)),
    ]

    @Test(arguments: cases)
    func matchesTensorFlow(_ c: OpCase) throws {
        let archive = try NPZArchive(path: fixture("ops/\(c.name).npz").path)
        let inputNames = archive.names.filter { $0 == "input" || $0.hasPrefix("input_") }.sorted()
        var parameters: [String: Tensor] = [:]
        for name in archive.names where !inputNames.contains(name) && name != "output" {
            parameters["layer/\(name)"] = try archive.tensor(named: name)
        }
        let inputs = try inputNames.map { name -> FloatTensor in
            let tensor = try archive.tensor(named: name)
            return FloatTensor(shape: tensor.shape, values: tensor.floatValues())
        }
        let layer = Layer(name: "layer", op: c.op, inputs: inputNames)
        var model = Model(layers: [layer], parameters: parameters)
        model.inputNames = inputNames
        let y = try Engine(model: model, matrixProduct: .portable).apply(layer, to: inputs)
        let expected = try archive.tensor(named: "output")
        #expect(y.shape == expected.shape)
        expectClose(y.values, expected.floatValues(), atol: 1e-5, rtol: 1e-5)
    }

    @Test(arguments: cases)
    func roundTripsThroughTheModelFile(_ c: OpCase) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let archive = try NPZArchive(path: fixture("ops/\(c.name).npz").path)
        let inputNames = archive.names.filter { $0 == "input" || $0.hasPrefix("input_") }.sorted()
        var parameters: [String: Tensor] = [:]
        for name in archive.names where !inputNames.contains(name) && name != "output" {
            parameters["layer/\(name)"] = try archive.tensor(named: name)
        }
        var model = Model(layers: [Layer(name: "layer", op: c.op, inputs: inputNames)], parameters: parameters)
        model.inputNames = inputNames
        let path = directory.appendingPathComponent("m.safetensors").path
        try ModelFile.write(model, to: path)
        let read = try ModelFile.read(path: path)
        #expect(read.layers == model.layers)
        #expect(Set(read.parameters.keys) == Set(parameters.keys))
    }
}
