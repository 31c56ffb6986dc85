import Foundation
import Importers
import NumPyFormat
import ParityModel
import TFParityKit
import TensorCore
import TestSupport
import Testing

/// The default verdict judges each element against the float32 rounding bound and stays sharp: real mistakes the
/// bound must not hide still fail, and arithmetic noise it exists for passes.
@Suite struct RoundingVerdictTests {
    /// The seed model as `convert` writes it, with `change` applied to its parameters, written into `directory`.
    static func seedModel(in directory: URL, change: (inout Model) -> Void = { _ in }) throws -> String {
        var (model, _) = try Converter.loadModel(
            source: fixture("seed/params.npz").path, spec: fixture("seed/spec.yaml").path)
        change(&model)
        let path = directory.appendingPathComponent("seed.safetensors").path
        try ModelFile.write(model, to: path)
        return path
    }

    @Test func theSeedPassesEndToEndUnderTheBound() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let report = try Verifier.verify(
            model: try Self.seedModel(in: directory), recording: fixture("seed/recording.npz").path,
            options: VerifyOptions(endToEnd: true))
        #expect(report.rule == .auto)
        #expect(report.passed)
        // It is tight: the worst element uses a visible share of its allowance, not a millionth.
        let worst = report.results.map(\.comparison.maxToleranceRatio).max() ?? 0
        #expect(worst > 0.01 && worst <= 1)
    }

    /// A float32 model whose first kernel was rounded to float16 somewhere on the way (the model file says float32).
    @Test func float16RoundedWeightsStillFail() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = try Self.seedModel(in: directory) { model in
            let kernel = model.parameters["layer0/kernel"]!
            let rounded = kernel.floatValues().map { Float(Float16($0)) }
            model.parameters["layer0/kernel"] = Tensor(shape: kernel.shape, floats: rounded)
        }
        let report = try Verifier.verify(model: path, recording: fixture("seed/recording.npz").path)
        #expect(!report.passed)
        #expect(report.results.contains { !$0.passed && $0.layer == "layer0" })
    }

    /// A recording whose batch norm was computed in float16 by a float32 model (no policy says so).
    @Test func aFloat16RecordingIsDiagnosedReducedPrecision() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let modelPath = try Self.seedModel(in: directory)
        let model = try ModelFile.read(path: modelPath)
        let archive = try NPZArchive(path: fixture("seed/recording.npz").path)
        var arrays: [(name: String, tensor: Tensor)] = []
        for name in archive.names.sorted() {
            var tensor = try archive.tensor(named: name)
            if name == "layer0/bn/post_bn" {
                // TensorFlow's own pre_bn, normalised in float16: input and result rounded to half precision.
                let x = try archive.tensor(named: "layer0/bn/pre_bn").floatValues()
                let bn = try #require(model.layer(named: "layer0/bn")?.batchNormalization)
                let (scale, offset) = BatchNormalization.scaleAndOffset(
                    mean: model.parameter("layer0/bn", "moving_mean")!.floatValues(),
                    variance: model.parameter("layer0/bn", "moving_variance")!.floatValues(),
                    gamma: model.parameter("layer0/bn", "gamma")?.floatValues(),
                    beta: model.parameter("layer0/bn", "beta")?.floatValues(), epsilon: Float(bn.epsilon))
                let channels = scale.count
                let y = x.indices.map { i in
                    Float(Float16(Float(Float16(x[i])) * scale[i % channels] + offset[i % channels]))
                }
                tensor = Tensor(shape: tensor.shape, floats: y)
            }
            arrays.append((name, tensor))
        }
        let recording = directory.appendingPathComponent("float16.npz").path
        try NPZWriter.write(arrays, to: recording)
        let report = try Verifier.verify(model: modelPath, recording: recording)
        // Later checks start from the (changed) post_bn and fail too; the batch norm itself is named.
        let batchNorm = try #require(report.results.first { $0.tensor == "layer0/bn/post_bn" })
        #expect(!batchNorm.passed)
        #expect(batchNorm.diagnosis?.id == "reduced-precision")
        #expect(report.results.first { $0.tensor == "layer0/bn/pre_bn" }?.passed == true)
    }

    /// The fixed rule stays available and says so.
    @Test func fixedToleranceIsTheOldRule() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let report = try Verifier.verify(
            model: try Self.seedModel(in: directory), recording: fixture("seed/recording.npz").path,
            options: VerifyOptions(tolerance: Tolerance(atol: 1e-5, rtol: 1e-4)))
        #expect(report.rule == .fixed)
        #expect(report.passed)
    }
}
