import Foundation
import ParityModel
import Reports
import TFParityKit
import TensorCore
import TestSupport
import Testing

@Suite struct FoldTests {
    /// Folding gives fewer layers, records what it folded, and the folded model passes verify on `output`
    /// (local checks and end to end); keys of folded layers are reported as folded, not compared.
    @Test(arguments: FixtureModel.all)
    func foldedModelPassesVerify(_ fixture: FixtureModel) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let unfolded = try fixture.convert(into: directory)
        let folded = directory.appendingPathComponent("folded.safetensors").path
        let result = try Folder.fold(
            model: unfolded, output: folded, options: FoldOptions(recording: fixture.recordingPath))
        #expect(result.layersAfter < result.layersBefore)
        #expect(result.layersBefore - result.layersAfter == result.folded.count)
        let cost = try #require(result.cost)
        #expect(cost.maxAbsDifference < 1e-5)

        let model = try ModelFile.read(path: folded)
        #expect(model.layers.count == result.layersAfter)
        #expect(model.folding?.folded == result.folded)
        #expect(model.folding?.maxAbsDifference == cost.maxAbsDifference)
        #expect(model.folding?.unfoldedModel == "\(fixture.name).safetensors")
        for item in result.folded {
            #expect(model.layer(named: item.bn) == nil)
            #expect(model.parameter(item.bn, "moving_mean") == nil)
            #expect(model.parameter(item.into, "bias")?.dtype == .float32)
        }

        let report = try Verifier.verify(
            model: folded, recording: fixture.recordingPath, options: VerifyOptions(endToEnd: true))
        #expect(report.passed, "\(Rendering.text(report))")
        #expect(report.results.contains { $0.tensor == "output" && $0.passed })
        #expect(report.ignoredKeys.isEmpty)
        for item in result.folded {
            #expect(report.foldedKeys.contains("\(item.bn)/post_bn"))
        }
        #expect(report.folding?.folded == result.folded)
    }

    /// The MLP and CNN fixtures fold as expected, layer for layer.
    @Test func expectedFolds() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let seed = try Folder.fold(
            model: try FixtureModel.seed.convert(into: directory),
            output: directory.appendingPathComponent("seed-folded.safetensors").path)
        #expect(seed.layersBefore == 7)
        #expect(seed.layersAfter == 5)
        #expect(
            seed.folded == [.init(bn: "layer0/bn", into: "layer0"), .init(bn: "layer1/bn", into: "layer1")])
        // A dense first layer gives the probe's shape, so the cost is measured even without a recording.
        #expect(seed.cost?.probe == "deterministic [4, 8]")

        let cnn = try Folder.fold(
            model: try FixtureModel.cnn.convert(into: directory),
            output: directory.appendingPathComponent("cnn-folded.safetensors").path)
        #expect(cnn.layersBefore == 17)
        #expect(cnn.layersAfter == 14)
        #expect(cnn.folded.map(\.into) == ["conv_s2", "conv_dil", "dense"])
        #expect(cnn.cost == nil)
        #expect(cnn.costNote != nil)
    }

    /// A BN after a layer with a fused activation, after a layer whose output also feeds another, or after a
    /// parameterless layer stays; references to a folded BN now name the layer it went into.
    @Test func foldsOnlyWhatIsEquivalent() throws {
        func dense(_ name: String, _ inputs: [String], activation: Activation = .linear) -> Layer {
            Layer(name: name, op: Dense(activation: activation), inputs: inputs)
        }
        func bn(_ name: String, _ input: String) -> Layer {
            Layer(name: name, op: BatchNormalization(epsilon: 1e-3, axis: -1), inputs: [input])
        }
        let layers = [
            dense("a", ["input"]), bn("a_bn", "a"),
            dense("b", ["a_bn"], activation: .relu), bn("b_bn", "b"),
            dense("c", ["b_bn"]), bn("c_bn", "c"), Layer(name: "c_add", op: Add(), inputs: ["c_bn", "c"]),
            Layer(name: "relu", op: ActivationLayer(.relu), inputs: ["c_add"]), bn("relu_bn", "relu"),
            dense("d", ["relu_bn"]), bn("d_bn", "d"),
        ]
        var parameters: [String: Tensor] = [:]
        for name in ["a", "b", "c", "d"] {
            parameters["\(name)/kernel"] = Tensor(shape: [2, 2], floats: [1, 2, 3, 4])
        }
        parameters["a/bias"] = Tensor(shape: [2], floats: [0.5, -0.5])
        for name in ["a_bn", "b_bn", "c_bn", "relu_bn", "d_bn"] {
            parameters["\(name)/moving_mean"] = Tensor(shape: [2], floats: [0.25, -1])
            parameters["\(name)/moving_variance"] = Tensor(shape: [2], floats: [4, 0.0001])
            parameters["\(name)/gamma"] = Tensor(shape: [2], floats: [2, 0.5])
            parameters["\(name)/beta"] = Tensor(shape: [2], floats: [-1, 3])
        }
        let model = Model(layers: layers, parameters: parameters)
        let (folded, items, kept) = try BatchNormFolding.fold(model)
        #expect(items == [.init(bn: "a_bn", into: "a"), .init(bn: "d_bn", into: "d")])
        #expect(kept.map(\.bn) == ["b_bn", "c_bn", "relu_bn"])
        #expect(folded.layer(named: "b")?.inputs == ["a"])
        // The folded BN was the model's output: the layer it went into is now last.
        #expect(folded.outputLayer?.name == "d")

        // a: W' = W · s, b' = (b − mean) · s + beta, s = gamma / sqrt(var + eps), computed in float64.
        let s = [2 / (4 + 1e-3).squareRoot(), 0.5 / (0.0001 + 1e-3).squareRoot()]
        expectClose(
            try #require(folded.parameter("a", "kernel")).doubleValues(),
            [1 * s[0], 2 * s[1], 3 * s[0], 4 * s[1]], atol: 0, rtol: 1e-7)
        expectClose(
            try #require(folded.parameter("a", "bias")).doubleValues(),
            [(0.5 - 0.25) * s[0] - 1, (-0.5 + 1) * s[1] + 3], atol: 0, rtol: 1e-7)
        // d had no bias: one is created.
        #expect(folded.parameter("d", "bias")?.shape == [2])

        let input = FloatTensor(shape: [3, 2], values: [0.1, -0.2, 1.5, 0.7, -2, 0.3])
        let before = try Engine(model: model, matrixProduct: .portable).run(input)
        let after = try Engine(model: folded, matrixProduct: .portable).run(input)
        expectClose(after.values, before.values, atol: 1e-5, rtol: 1e-5)
    }

    /// A depthwise kernel `[kh, kw, in, multiplier]` has output channel `c · multiplier + m`.
    @Test func depthwiseChannelOrder() throws {
        let geometry = Convolution2D(kernelSize: [1, 1])
        let layers = [
            Layer(
                name: "dw", op: DepthwiseConv2D(geometry, depthMultiplier: 2, activation: .linear), inputs: ["input"]),
            Layer(name: "dw_bn", op: BatchNormalization(epsilon: 0, axis: -1), inputs: ["dw"]),
        ]
        let parameters: [String: Tensor] = [
            "dw/depthwise_kernel": Tensor(shape: [1, 1, 2, 2], floats: [1, 1, 1, 1]),
            "dw_bn/moving_mean": Tensor(shape: [4], floats: [0, 0, 0, 0]),
            "dw_bn/moving_variance": Tensor(shape: [4], floats: [1, 1, 1, 1]),
            "dw_bn/gamma": Tensor(shape: [4], floats: [1, 2, 3, 4]),
        ]
        let model = Model(layers: layers, parameters: parameters)
        let (folded, items, _) = try BatchNormFolding.fold(model)
        #expect(items.count == 1)
        #expect(folded.parameter("dw", "depthwise_kernel")?.floatValues() == [1, 2, 3, 4])
        let input = FloatTensor(shape: [1, 1, 1, 2], values: [10, 100])
        #expect(try Engine(model: folded, matrixProduct: .portable).run(input).values == [10, 20, 300, 400])
        #expect(try Engine(model: model, matrixProduct: .portable).run(input).values == [10, 20, 300, 400])
    }

    @Test func foldingRoundTripsThroughTheModelFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let folded = directory.appendingPathComponent("folded.safetensors").path
        _ = try Folder.fold(model: try FixtureModel.seed.convert(into: directory), output: folded)
        let json = try #require(try ModelFile.read(path: folded).folding)
        #expect(json.folded.count == 2)
        #expect(json.toolVersion == toolVersion)
        #expect(json.unfoldedSHA256?.count == 64)
        // Folding again finds nothing more and keeps the record.
        let again = directory.appendingPathComponent("again.safetensors").path
        let result = try Folder.fold(model: folded, output: again)
        #expect(result.folded.isEmpty)
        #expect(try ModelFile.read(path: again).folding?.folded.count == 2)
    }
}
