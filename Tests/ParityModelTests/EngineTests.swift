import Foundation
import ParityModel
import TensorCore
import TestSupport
import Testing

@Suite struct BatchNormalizationTests {
    /// The worked example from the developers' guide: values taken from a TensorFlow run.
    @Test func workedExampleMatchesTensorFlow() {
        let y = BatchNormalization.apply(
            -0.077417567, mean: -0.089603029, variance: 0.000436493, gamma: 1.0055743, beta: -0.016652612,
            epsilon: 1e-3)
        expectClose([y], [0.30664611], atol: 1e-6, rtol: 0)
    }

    @Test func followsTensorFlowsOrderOfOperations() {
        // inv = rsqrt(var + eps) * gamma; y = x * inv + (beta - mean * inv), in float32.
        let (scale, offset) = BatchNormalization.scaleAndOffset(
            mean: [2], variance: [4], gamma: [3], beta: [1], epsilon: 0)
        #expect(scale == [1.5])
        #expect(offset == [-2])
        let noParameters = BatchNormalization.scaleAndOffset(
            mean: [0], variance: [1], gamma: nil, beta: nil, epsilon: 0)
        #expect(noParameters.scale == [1] && noParameters.offset == [0])
    }
}

@Suite struct EngineTests {
    static func model(_ layers: [Layer], _ parameters: [String: Tensor]) -> Model {
        Model(layers: layers, parameters: parameters)
    }

    @Test func denseComputesMatrixProductPlusBias() throws {
        // [[1, 2]] · [[1, 2, 3], [4, 5, 6]] + [0.5, 0.5, 0.5] = [[9.5, 12.5, 15.5]]
        let model = Self.model(
            [Layer(name: "d", op: Dense(activation: .linear), inputs: [Model.inputName])],
            [
                "d/kernel": Tensor(shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]),
                "d/bias": Tensor(shape: [3], floats: [0.5, 0.5, 0.5]),
            ])
        let y = try Engine(model: model, matrixProduct: .portable).run(FloatTensor(shape: [1, 2], values: [1, 2]))
        #expect(y.shape == [1, 3])
        expectClose(y.values, [9.5, 12.5, 15.5], atol: 0, rtol: 0)
    }

    struct ActivationCase: Sendable, CustomTestStringConvertible {
        var activation: Activation
        var expected: [Float]
        var testDescription: String { activation.name }
    }

    // Expected values from tf.nn (TensorFlow 2.21, float32) on x = [-2, -0.5, 0, 0.5, 7].
    @Test(arguments: [
        ActivationCase(activation: .relu, expected: [0, 0, 0, 0.5, 7]),
        ActivationCase(activation: .relu6, expected: [0, 0, 0, 0.5, 6]),
        ActivationCase(activation: .leakyRelu(alpha: 0.2), expected: [-0.4, -0.1, 0, 0.5, 7]),
        ActivationCase(activation: .elu(alpha: 1), expected: [-0.86466473, -0.39346933, 0, 0.5, 7]),
        ActivationCase(
            activation: .selu,
            expected: [-1.5201665163040161, -0.6917581558227539, 0, 0.5253505110740662, 7.354907035827637]),
        ActivationCase(activation: .sigmoid, expected: [0.11920292, 0.37754067, 0.5, 0.62245935, 0.99908894]),
        ActivationCase(
            activation: .tanh,
            expected: [-0.9640275835990906, -0.46211713552474976, 0, 0.46211713552474976, 0.9999983310699463]),
        ActivationCase(
            activation: .softmax,
            expected: [
                0.00012302942923270166, 0.0005513796349987388, 0.0009090714156627655, 0.0014988054754212499,
                0.9969178438186646,
            ]),
        ActivationCase(activation: .linear, expected: [-2, -0.5, 0, 0.5, 7]),
    ])
    func activations(_ c: ActivationCase) throws {
        let model = Self.model([Layer(name: "a", op: ActivationLayer(c.activation), inputs: [Model.inputName])], [:])
        let y = try Engine(model: model, matrixProduct: .portable).run(FloatTensor(shape: [1, 5], values: [-2, -0.5, 0, 0.5, 7]))
        expectClose(y.values, c.expected, atol: 1e-6, rtol: 1e-5)
    }

    /// Activations that call libm per element run on every core for a large tensor; the values are exactly those of
    /// the same activation over small pieces (one thread each).
    @Test(arguments: [Activation.gelu, .swish, .tanh, .sigmoid, .elu(alpha: 1), .mish])
    func largeActivationsMatchSmallOnesBitForBit(_ activation: Activation) throws {
        let count = 40_000
        let x = (0..<count).map { Float(($0 * 7919) % 2001 - 1000) / 125 }
        func run(_ values: [Float]) throws -> [Float] {
            let layer = Layer(name: "a", op: ActivationLayer(activation), inputs: [Model.inputName])
            return try Engine(model: Self.model([layer], [:]), matrixProduct: .portable)
                .run(FloatTensor(shape: [1, values.count], values: values)).values
        }
        let whole = try run(x)
        var pieces: [Float] = []
        for start in stride(from: 0, to: count, by: 1000) { pieces += try run(Array(x[start..<(start + 1000)])) }
        #expect(whole.map(\.bitPattern) == pieces.map(\.bitPattern))
    }

    /// A softmax's bound from its input's: first order (`2·y·b`) for a small incoming bound, and never beyond 1 for a
    /// large one, where a value rounded to 0 may become 1 (a saturated softmax after a network that amplifies its
    /// rounding): a flip within the bound is not a failure.
    @Test func softmaxBoundIsFirstOrderWhenSmallAndAtMostOne() throws {
        let layer = Layer(name: "s", op: ActivationLayer(.softmax), inputs: [Model.inputName])
        let engine = try Engine(model: Self.model([layer], [:]), matrixProduct: .portable)
        let x = FloatTensor(shape: [1, 3], values: [0, 1, 200])
        let small = try engine.applyWithBound(layer, to: [x], inputBounds: [[1e-6, 1e-6, 1e-6]])
        for (y, b) in zip(small.value.values, small.bound) {
            #expect(b >= 2 * y * 1e-6 && b <= 2 * y * 1e-6 * 1.001 + 8 * Float.ulpOfOne * y)
        }
        #expect(small.value.values[0] == 0 && small.bound[0] < Float.leastNormalMagnitude)
        let large = try engine.applyWithBound(layer, to: [x], inputBounds: [[1e6, 1e6, 1e6]])
        #expect(large.bound == [1, 1, 1])
    }

    @Test func missingParameterIsAnError() {
        let model = Self.model(
            [Layer(name: "bn", op: BatchNormalization(epsilon: 1e-3, axis: -1), inputs: [Model.inputName])], [:])
        #expect(throws: EngineError.layer("bn", .missingParameter("moving_mean"))) {
            try Engine(model: model, matrixProduct: .portable)
        }
    }

    @Test func wrongInputWidthIsAnError() throws {
        let model = Self.model(
            [Layer(name: "d", op: Dense(activation: .linear), inputs: [Model.inputName])],
            ["d/kernel": Tensor(shape: [2, 1], floats: [1, 1])])
        #expect(throws: EngineError.layer("d", .inputShape(expected: "[…, 2]", actual: "[1, 3]"))) {
            try Engine(model: model, matrixProduct: .portable).run(FloatTensor(shape: [1, 3], values: [1, 2, 3]))
        }
    }
}

@Suite struct ModelFileTests {
    @Test func roundTripKeepsLayersParametersAndProvenance() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = Model(
            layers: [
                Layer(name: "layer0", op: Dense(activation: .linear), inputs: [Model.inputName]),
                Layer(name: "layer0/bn", op: BatchNormalization(epsilon: 1.001e-5, axis: -1), inputs: ["layer0"]),
                Layer(name: "act", op: ActivationLayer(.leakyRelu(alpha: 0.3)), inputs: ["layer0/bn"]),
                Layer(name: "drop", op: Dropout(rate: 0.5), inputs: ["act"]),
            ],
            parameters: [
                "layer0/kernel": Tensor(shape: [1, 2], doubles: [0.1, -0.2]),
                "layer0/bn/moving_mean": Tensor(shape: [2], floats: [0.5, -0.25]),
                "layer0/bn/moving_variance": Tensor(shape: [2], floats: [1e-7, 2]),
            ],
            provenance: Provenance(
                source: "p.npz", sha256: String(repeating: "ab", count: 32), sourceKind: "npz", spec: "s.yaml",
                toolVersion: "0.1.0"))
        let path = dir.appendingPathComponent("m.safetensors").path
        try ModelFile.write(model, to: path)
        let back = try ModelFile.read(path: path)
        #expect(back.layers == model.layers)
        #expect(back.parameters == model.parameters)
        #expect(back.provenance == model.provenance)
    }
}
