import Foundation
import ParityModel
import TensorCore
import TestSupport
import Testing

/// Attributes and shapes a hostile or broken model file may give the issue-14 operations: each is refused by
/// `LayerGraph.check` (exit 2 in the CLI), never a trap or an allocation beyond `Limits`.
@Suite struct HostileLayerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var op: any LayerOperation
        var input: [Int?]
        var parameters: [String: [Int]] = [:]
        var inputs = 1
        /// The second input's shape, when it differs from the first's.
        var second: [Int?]?
        var testDescription: String { name }
    }

    static let huge = 1 << 40

    static let cases: [Case] = [
        Case(name: "fused glu", op: Dense(activation: .glu), input: [2, 4], parameters: ["kernel": [4, 4]]),
        Case(name: "glu over an odd axis", op: ActivationLayer(.glu), input: [2, 5]),
        Case(
            name: "conv groups zero", op: Conv2D(conv([1, 1]), groups: 0), input: [1, 4, 4, 4],
            parameters: ["kernel": [1, 1, 4, 4]]),
        Case(
            name: "conv groups not dividing filters", op: Conv2D(conv([1, 1]), groups: 3), input: [1, 4, 4, 6],
            parameters: ["kernel": [1, 1, 2, 4]]),
        Case(
            name: "conv groups times channels overflow", op: Conv2D(conv([1, 1]), groups: 1 << 30),
            input: [1, 4, 4, 4], parameters: ["kernel": [1, 1, 1 << 40, 1 << 30]]),
        Case(
            name: "conv1d kernel of rank 2", op: Conv1D(Convolution1D(kernelSize: 3)), input: [1, 9, 4],
            parameters: ["kernel": [3, 4]]),
        Case(
            name: "conv1d huge causal padding",
            op: Conv1D(Convolution1D(kernelSize: 65536, padding: .causal, dilation: 65536)),
            input: [1 << 20, 9, 4], parameters: ["kernel": [65536, 4, 1]]),
        Case(
            name: "conv1d on an image", op: Conv1D(Convolution1D(kernelSize: 3)), input: [1, 9, 9, 4],
            parameters: ["kernel": [3, 4, 1]]),
        Case(
            name: "depthwise conv1d zero multiplier",
            op: DepthwiseConv1D(Convolution1D(kernelSize: 3), depthMultiplier: 0),
            input: [1, 9, 4], parameters: ["depthwise_kernel": [3, 4, 0]]),
        Case(
            name: "transpose output padding at the stride",
            op: Conv2DTranspose(conv([3, 3], strides: [2, 2], .same), outputPadding: [2, 0]), input: [1, 4, 4, 3],
            parameters: ["kernel": [3, 3, 2, 3]]),
        Case(
            name: "transpose dilation with strides",
            op: Conv2DTranspose(conv([3, 3], strides: [2, 2], dilation: [2, 2])),
            input: [1, 4, 4, 3], parameters: ["kernel": [3, 3, 2, 3]]),
        Case(
            name: "transpose output too large", op: Conv2DTranspose(conv([65536, 65536], strides: [65536, 65536])),
            input: [1, 1 << 14, 1 << 14, 3], parameters: ["kernel": [65536, 65536, 1, 3]]),
        Case(
            name: "transpose kernel channels", op: Conv2DTranspose(conv([3, 3])), input: [1, 4, 4, 3],
            parameters: ["kernel": [3, 3, 2, 5]]),
        Case(name: "upsampling zero", op: UpSampling2D(size: [0, 2]), input: [1, 4, 4, 3]),
        Case(name: "upsampling too large", op: UpSampling2D(size: [65536, 65536]), input: [1, 1 << 12, 1 << 12, 3]),
        Case(name: "permute repeats an axis", op: Permute(dims: [1, 1, 2]), input: [1, 4, 4, 3]),
        Case(name: "permute of another rank", op: Permute(dims: [2, 1]), input: [1, 4, 4, 3]),
        Case(name: "subtract three inputs", op: Subtract(), input: [1, 4], inputs: 3),
        Case(name: "maximum unbroadcastable", op: Maximum(), input: [1, 4], inputs: 2, second: [1, 3]),
        Case(name: "custom scale infinite", op: CustomScale(scale: .infinity), input: [1, 4], inputs: 2),
        Case(name: "layer scale gamma length", op: LayerScale(), input: [1, 4, 4, 3], parameters: ["gamma": [4]]),
        Case(name: "layer norm axis twice", op: LayerNormalization(axis: [-1, 3]), input: [1, 4, 4, 3]),
        Case(name: "layer norm no axis", op: LayerNormalization(axis: []), input: [1, 4, 4, 3]),
        Case(name: "layer norm axis out of range", op: LayerNormalization(axis: [4]), input: [1, 4, 4, 3]),
        Case(
            name: "layer norm gamma shape", op: LayerNormalization(axis: [1, 2, 3]), input: [1, 4, 4, 3],
            parameters: ["gamma": [3]]),
        Case(name: "layer norm negative epsilon", op: LayerNormalization(epsilon: -1), input: [1, 4]),
        Case(name: "group norm channels not a multiple", op: GroupNormalization(groups: 2), input: [1, 4, 4, 3]),
        Case(name: "group norm not the last axis", op: GroupNormalization(groups: 1, axis: 1), input: [1, 4, 4, 3]),
        Case(name: "normalization without statistics", op: Normalization(axis: [-1]), input: [1, 4]),
        Case(
            name: "normalization statistics shape", op: Normalization(axis: [-1]), input: [1, 4],
            parameters: ["mean": [3], "variance": [3]]),
        Case(
            name: "normalization mean and variance differ", op: Normalization(axis: [-1]), input: [1, 4],
            parameters: ["mean": [4], "variance": [1, 4]]),
        Case(
            name: "normalization constants and parameters",
            op: Normalization(axis: [-1], mean: [0], variance: [1], constantShape: [1]), input: [1, 4],
            parameters: ["mean": [4], "variance": [4]]),
        Case(
            name: "normalization constant count",
            op: Normalization(axis: [-1], mean: [0, 1], variance: [1], constantShape: [2]), input: [1, 2]),
        Case(
            name: "normalization non-finite constant",
            op: Normalization(axis: [-1], mean: [.nan], variance: [1], constantShape: [1]), input: [1, 2]),
        Case(
            name: "normalization count not scalar", op: Normalization(axis: [-1]), input: [1, 4],
            parameters: ["mean": [4], "variance": [4], "count": [2]]),
    ]

    static func conv(
        _ kernel: [Int], strides: [Int] = [1, 1], _ padding: Padding = .valid, dilation: [Int] = [1, 1]
    ) -> Convolution2D {
        Convolution2D(kernelSize: kernel, strides: strides, padding: padding, dilation: dilation)
    }

    @Test(arguments: cases)
    func isRefused(_ c: Case) {
        let inputs = (0..<c.inputs).map { $0 == 0 ? Model.inputName : "input_\($0)" }
        var shapes = Dictionary(uniqueKeysWithValues: inputs.map { ($0, ValueShape(c.input)) })
        if let second = c.second { shapes["input_1"] = ValueShape(second) }
        let layer = Layer(name: "layer", op: c.op, inputs: inputs)
        #expect(throws: EngineError.self) {
            try LayerGraph.check([layer], inputs: shapes) { name in
                name.hasPrefix("layer/") ? c.parameters[String(name.dropFirst("layer/".count))] : nil
            }
        }
    }

    /// A model file written before `groups` existed reads as an ungrouped convolution, and writes as it did.
    @Test func conv2DWithoutGroupsIsUngrouped() throws {
        let record =
            #"{"activation":"linear","dilation_rate":[1,1],"kernel_size":[3,3],"padding":"same","strides":[1,1]}"#
        let op = try JSONDecoder().decode(Conv2D.self, from: Data(record.utf8))
        #expect(op.groups == 1)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(String(decoding: try encoder.encode(op), as: UTF8.self) == record)
        let grouped = try JSONDecoder().decode(
            Conv2D.self, from: Data(record.dropLast().appending(#","groups":4}"#).utf8))
        #expect(grouped.groups == 4)
    }
}

/// A batch normalisation after a 1-D convolution folds into it and computes the same values.
@Suite struct Conv1DFoldingTests {
    @Test(arguments: ["conv1d", "depthwise_conv1d", "separable_conv1d"])
    func foldsIntoTheConvolution(_ type: String) throws {
        let geometry = Convolution1D(kernelSize: 3, padding: .same)
        let (op, kernels): (any LayerOperation, [String: [Int]]) =
            switch type {
            case "conv1d": (Conv1D(geometry), ["kernel": [3, 4, 5]])
            case "depthwise_conv1d": (DepthwiseConv1D(geometry, depthMultiplier: 2), ["depthwise_kernel": [3, 4, 2]])
            default:
                (
                    SeparableConv1D(geometry, depthMultiplier: 2),
                    ["depthwise_kernel": [3, 4, 2], "pointwise_kernel": [1, 8, 5]]
                )
            }
        var parameters: [String: Tensor] = [:]
        var seed: UInt64 = 10
        for (name, shape) in kernels {
            parameters["c/\(name)"] = Tensor(shape: shape, floats: KernelTests.values(shape.reduce(1, *), seed: seed))
            seed += 1
        }
        let channels = type == "depthwise_conv1d" ? 8 : 5
        for name in ["moving_mean", "gamma", "beta"] {
            parameters["bn/\(name)"] = Tensor(shape: [channels], floats: KernelTests.values(channels, seed: seed))
            seed += 1
        }
        parameters["bn/moving_variance"] = Tensor(
            shape: [channels], floats: KernelTests.values(channels, seed: seed).map { $0 * $0 + 0.5 })
        let model = Model(
            layers: [
                Layer(name: "c", op: op, inputs: [Model.inputName]),
                Layer(name: "bn", op: BatchNormalization(epsilon: 1e-3), inputs: ["c"]),
            ], parameters: parameters)
        let (folded, done, _) = try BatchNormFolding.fold(model)
        #expect(done.map(\.bn) == ["bn"])
        let x = FloatTensor(shape: [2, 9, 4], values: KernelTests.values(72, seed: 99))
        let expected = try Engine(model: model, matrixProduct: .portable).run(x)
        let y = try Engine(model: folded, matrixProduct: .portable).run(x)
        expectClose(y.values, expected.values, atol: 1e-5, rtol: 1e-4)
    }
}
