import Foundation
import TestSupport
import Testing

/// `convert` of TensorFlow graphs with no spec, run as a user runs it.
@Suite struct GraphCLITests {
    @Test func convertsTheSeedMetaGraphAndNotesTheFedFlag() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let output = directory.appendingPathComponent("seed.safetensors").path
        let result = try runTFParity(["convert", "Fixtures/graphs/seed_cf1/model.ckpt", "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("note: the bool placeholder 'phase_train' is fed false (inference)"))
        let verify = try runTFParity(["verify", output, "Fixtures/graphs/seed_cf1/recording.npz"])
        #expect(verify.status == 0, "\(verify.stdout)")
    }

    @Test func inspectShowsTheLayersReadFromAFrozenGraph() throws {
        let result = try runTFParity(["inspect", "Fixtures/graphs/cnn/frozen.pb"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(tf-graph)"))
        #expect(result.stdout.contains("conv1_bn     conv1_bn/cond/FusedBatchNormV3_1 (FusedBatchNormV3)"))
        #expect(result.stdout.contains("batchnorm dw_bn: 6 channels, epsilon 1e-05"))
    }

    @Test func anUnsupportedOpIsExitTwoNamingItsType() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let output = directory.appendingPathComponent("rfft.safetensors").path
        let result = try runTFParity(["convert", "Fixtures/graphs/errors/unsupported_rfft.pb", "-o", output])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: Fixtures/graphs/errors/unsupported_rfft.pb: spectrum: "))
        #expect(result.stderr.contains("unsupported op 'RFFT'"))
        #expect(result.stderr.contains("x -> fc/MatMul (MatMul) -> spectrum (RFFT)"))
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// A damaged frozen graph says where it breaks, not only that it is no source tfparity knows.
    @Test func aTruncatedFrozenGraphSaysWhereItBreaks() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: "Fixtures/graphs/cnn/frozen.pb"))
        let graph = directory.appendingPathComponent("frozen.pb").path
        try bytes.dropLast(3).write(to: URL(fileURLWithPath: graph))
        let output = directory.appendingPathComponent("t.safetensors").path
        let result = try runTFParity(["convert", graph, "-o", output])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: \(graph): "), "\(result.stderr)")
        #expect(!result.stderr.contains("not a recognised source"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func aTruncatedMetaGraphIsExitTwoNamingTheFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let output = directory.appendingPathComponent("t.safetensors").path
        let result = try runTFParity([
            "convert", "Fixtures/graphs/seed_cf1/model.ckpt", "--graph", "Fixtures/graphs/errors/truncated.meta", "-o",
            output,
        ])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: Fixtures/graphs/errors/truncated.meta: "))
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func aMissingSignatureListsTheOnesThatExist() throws {
        let result = try runTFParity([
            "convert", "Fixtures/graphs/saved_model_keras3", "--signature", "predict", "-o", "/tmp/unused.safetensors",
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no signature 'predict'; the SavedModel has: 'serve', 'serving_default'"))
        #expect(result.stderr.contains("--signature"))
    }

    @Test func aFeedThatIsNotNameEqualsValueIsAUsageError() throws {
        let result = try runTFParity([
            "convert", "Fixtures/graphs/seed_cf1/model.ckpt", "--feed", "phase_train", "-o", "/tmp/unused.safetensors",
        ])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--feed 'phase_train'"))
    }
}
