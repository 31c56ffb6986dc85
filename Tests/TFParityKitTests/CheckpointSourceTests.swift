import Foundation
import ParityModel
import Importers
import Reports
import TFParityKit
import TestSupport
import Testing

/// Checkpoints as sources: convert, verify and inspect on the fixtures TensorFlow wrote.
@Suite struct CheckpointSourceTests {
    struct ParityCase: Sendable, CustomTestStringConvertible {
        var name: String
        var source: String
        var spec: String
        var recording: String
        var kind: String
        var testDescription: String { name }
    }

    static let parityCases = [
        ParityCase(
            name: "TF1 Saver checkpoint of the seed network", source: "checkpoints/tf1/model.ckpt",
            spec: "seed/spec.yaml", recording: "seed/recording.npz", kind: "tf-checkpoint"),
        ParityCase(
            name: "TF1 checkpoint named by its index", source: "checkpoints/tf1/model.ckpt.index",
            spec: "seed/spec.yaml", recording: "seed/recording.h5", kind: "tf-checkpoint"),
        ParityCase(
            name: "TF2 tf.train.Checkpoint of a tf_keras model", source: "checkpoints/tf2/model.ckpt",
            spec: "checkpoints/tf2/spec.yaml", recording: "checkpoints/tf2/recording.npz", kind: "tf-checkpoint"),
    ]

    /// Converts with the spec and passes verify, locally and end to end.
    @Test(arguments: parityCases)
    func convertsAndVerifies(_ parity: ParityCase) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let output = dir.appendingPathComponent("model.safetensors").path
        let result = try Converter.convert(
            source: fixture(parity.source).path, spec: fixture(parity.spec).path, output: output)
        #expect(result.sourceKind.rawValue == parity.kind)
        let report = try Verifier.verify(
            model: output, recording: fixture(parity.recording).path,
            options: VerifyOptions(tolerance: .default, endToEnd: true))
        #expect(report.passed, "\(report.results.filter { !$0.passed }.map { "\($0.layer) \($0.stage)" })")
        #expect(report.results.contains { $0.stage == .postBN })
        let model = try ModelFile.read(path: output)
        #expect(model.provenance?.sourceKind == parity.kind)
        #expect(model.provenance?.sha256.count == 64)
    }

    /// The TF1 checkpoint holds exactly the seed's parameters: the models converted from it and from the NPZ agree.
    @Test func tf1CheckpointEqualsTheSeedDump() throws {
        let spec = fixture("seed/spec.yaml").path
        let (fromCheckpoint, _) = try Converter.loadModel(
            source: fixture("checkpoints/tf1/model.ckpt").path, spec: spec)
        let (fromDump, _) = try Converter.loadModel(source: fixture("seed/params.npz").path, spec: spec)
        #expect(fromCheckpoint.parameters == fromDump.parameters)
    }

    @Test func inspectListsEveryEntryWithoutReadingTensors() throws {
        let report = try Inspector.inspect(path: fixture("checkpoints/tf2/model.ckpt").path, spec: nil)
        let checkpoint = try #require(report.checkpoint)
        #expect(checkpoint.variables.count == 23)
        #expect(
            checkpoint.variables.first { $0.name == "_CHECKPOINTABLE_OBJECT_GRAPH" }?.note == "string, skipped")
        #expect(checkpoint.variables.filter { $0.note == "optimizer state" }.count == 14)
        #expect(checkpoint.batchNorms.map(\.name) == ["model/layer_with_weights-1"])
        #expect(checkpoint.batchNorms.first?.channels == 16)
        #expect(!report.tensors.contains { $0.name == "_CHECKPOINTABLE_OBJECT_GRAPH" })
    }

    @Test func savedModelIsReadable() throws {
        let report = try Inspector.inspect(path: fixture("checkpoints/saved_model").path, spec: nil)
        #expect(report.kind == "saved-model")
        let checkpoint = try #require(report.checkpoint)
        #expect(checkpoint.prefix.hasSuffix("saved_model/variables/variables"))
        #expect(checkpoint.batchNorms.map(\.name) == ["bn0"])
        #expect(checkpoint.batchNorms.first?.movingVariance == "bn0/moving_variance/.ATTRIBUTES/VARIABLE_VALUE")
    }

    @Test func tf1BatchNormGroupsFindTheEMAShadows() throws {
        let report = try Inspector.inspect(path: fixture("checkpoints/tf1/model.ckpt").path, spec: nil)
        let groups = try #require(report.checkpoint).batchNorms
        #expect(groups.map(\.name) == ["layer0/bn", "layer1/bn"])
        #expect(groups.first?.movingMean == "layer0/bn/layer0/bn/moments/Squeeze/ExponentialMovingAverage")
        #expect(groups.first?.movingVariance == "layer0/bn/layer0/bn/moments/Squeeze_1/ExponentialMovingAverage")
        #expect(groups.first?.gamma == "layer0/bn/gamma")
    }

    /// The suggested spec parses and converts the checkpoint it came from; for TF1 it matches the seed's own spec.
    @Test(arguments: ["checkpoints/tf1/model.ckpt", "checkpoints/tf2/model.ckpt"])
    func suggestedSpecConverts(_ source: String) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let report = try Inspector.inspect(path: fixture(source).path, spec: nil)
        let specPath = dir.appendingPathComponent("suggested.yaml").path
        try SpecSuggestion.write(for: report, to: specPath)
        let spec = try Spec.load(path: specPath)
        #expect(spec.layers.filter { $0.op.typeName == "dense" }.count == 3 || source.contains("tf2"))
        let (model, _) = try Converter.loadModel(source: fixture(source).path, spec: specPath)
        #expect(model.layers.filter(\.isBatchNormalization).count == (source.contains("tf1") ? 2 : 1))
        if source.contains("tf1") {
            let (seed, _) = try Converter.loadModel(
                source: fixture(source).path, spec: fixture("seed/spec.yaml").path)
            #expect(model.parameters == seed.parameters)
        }
    }

    @Test func noSuggestionWithoutRecognisableNames() throws {
        let report = try Inspector.inspect(path: fixture("checkpoints/dtypes/dtypes.ckpt").path, spec: nil)
        do {
            try SpecSuggestion.write(for: report, to: "/nonexistent/never-written.yaml")
            Issue.record("a spec was suggested for a checkpoint with no layer names")
        } catch {
            #expect("\(error)".contains("no spec to suggest"), "\(error)")
        }
    }

    @Test func partitionedVariableNamedBySpecIsRefused() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let spec = dir.appendingPathComponent("spec.yaml")
        try "layers:\n  - {type: dense, name: d, kernel: part/kernel, bias: part/bias}\n".write(
            to: spec, atomically: true, encoding: .utf8)
        do {
            _ = try Converter.loadModel(source: fixture("checkpoints/partitioned/part.ckpt").path, spec: spec.path)
            Issue.record("a partitioned variable was converted")
        } catch {
            #expect("\(error)".contains("part/kernel: a partitioned variable saved in 2 slices"), "\(error)")
        }
    }
}
