import Foundation
import TestSupport
import Testing

/// The built binary on TensorFlow checkpoints: convert, verify, inspect, and the corrupted copies.
@Suite struct CheckpointCLITests {
    @Test func convertAndVerifyTheTF1Checkpoint() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("seed.safetensors").path
        let convert = try runTFParity([
            "convert", "Fixtures/checkpoints/tf1/model.ckpt", "--spec", "Fixtures/seed/spec.yaml", "-o", model,
        ])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(convert.stdout.contains("source kind: tf-checkpoint"))
        let verify = try runTFParity(["verify", model, "Fixtures/seed/recording.npz", "--end-to-end"])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("PASSED"))
    }

    struct Corrupt: Sendable, CustomTestStringConvertible {
        var name: String
        var source: String
        var mentions: [String]
        var testDescription: String { name }
    }

    static let corrupt = [
        Corrupt(
            name: "flipped index bytes", source: "Fixtures/checkpoints/corrupt/flipped-index/model.ckpt",
            mentions: ["flipped-index/model.ckpt.index:", "corrupt", "CRC-32C"]),
        Corrupt(
            name: "truncated data shard", source: "Fixtures/checkpoints/corrupt/truncated-shard/model.ckpt",
            mentions: ["truncated-shard/model.ckpt.data-00000-of-00001: layer", "truncated"]),
        Corrupt(
            name: "wrong tensor checksum", source: "Fixtures/checkpoints/corrupt/bad-checksum/model.ckpt",
            mentions: ["bad-checksum/model.ckpt.data-00000-of-00001: layer0/W:", "checksum mismatch"]),
        Corrupt(
            name: "missing shard", source: "Fixtures/checkpoints/corrupt/missing-shard/model.ckpt",
            mentions: ["missing-shard/model.ckpt.data-00001-of-00006:", "missing"]),
        Corrupt(
            name: "partitioned variable", source: "Fixtures/checkpoints/partitioned/part.ckpt",
            mentions: ["part.ckpt.index: part/kernel:", "partitioned"]),
    ]

    /// Exit 2, one `error:` line naming the file (and tensor), no output file.
    @Test(arguments: corrupt)
    func corruptCheckpointExitsTwo(_ bad: Corrupt) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let spec = dir.appendingPathComponent("spec.yaml")
        try "layers:\n  - {type: dense, name: d, kernel: part/kernel, bias: part/bias}\n".write(
            to: spec, atomically: true, encoding: .utf8)
        let specPath = bad.source.contains("partitioned") ? spec.path : "Fixtures/seed/spec.yaml"
        let output = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let result = try runTFParity([
            "convert", bad.source, "--spec", specPath, "-o", output.appendingPathComponent("m.safetensors").path,
        ])
        #expect(result.status == 2, "\(result.stdout) \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        let line = String(lines.first ?? "")
        #expect(line.hasPrefix("error: Fixtures/checkpoints/"), "\(line)")
        for mention in bad.mentions {
            #expect(line.contains(mention), "'\(line)' does not mention '\(mention)'")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.path).isEmpty)
    }

    @Test func inspectJSONOnACheckpoint() throws {
        let result = try runTFParity(["inspect", "Fixtures/checkpoints/tf1/model.ckpt", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["kind"] as? String == "tf-checkpoint")
        #expect(object["shards"] as? Int == 1)
        let variables = try #require(object["variables"] as? [[String: Any]])
        #expect(variables.count == 36)
        let kernel = try #require(variables.first { $0["name"] as? String == "layer0/W" })
        #expect(kernel["dtype"] as? String == "float32")
        #expect(kernel["shape"] as? [Int] == [8, 16])
        #expect(kernel["note"] is NSNull)
        #expect(variables.first { $0["name"] as? String == "layer0/W/Adam_1" }?["note"] as? String == "optimizer state")
        let groups = try #require(object["batchnorm_groups"] as? [[String: Any]])
        #expect(groups.map { $0["name"] as? String } == ["layer0/bn", "layer1/bn"])
        #expect(
            groups.first?["moving_variance"] as? String
                == "layer0/bn/layer0/bn/moments/Squeeze_1/ExponentialMovingAverage")
    }

    @Test func inspectTextOnASavedModel() throws {
        let result = try runTFParity(["inspect", "Fixtures/checkpoints/saved_model"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(saved-model)"))
        #expect(result.stdout.contains("_CHECKPOINTABLE_OBJECT_GRAPH"))
        #expect(result.stdout.contains("string, skipped"))
        #expect(result.stdout.contains("batch-norm parameters by layer:"))
    }

    /// `--suggest-spec` writes a spec that converts the checkpoint and passes verify against the seed recording.
    @Test func suggestSpecThenConvertAndVerify() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let spec = dir.appendingPathComponent("suggested.yaml").path
        let inspect = try runTFParity(["inspect", "Fixtures/checkpoints/tf1/model.ckpt", "--suggest-spec", spec])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let text = try String(contentsOfFile: spec, encoding: .utf8)
        #expect(text.contains("kernel: layer0/W"))
        let model = dir.appendingPathComponent("m.safetensors").path
        let convert = try runTFParity(["convert", "Fixtures/checkpoints/tf1/model.ckpt", "--spec", spec, "-o", model])
        #expect(convert.status == 0, "\(convert.stderr)")
        let verify = try runTFParity(["verify", model, "Fixtures/seed/recording.npz"])
        #expect(verify.status == 0, "\(verify.stdout)")
    }

    @Test func suggestSpecWithSpecIsAUsageError() throws {
        let result = try runTFParity([
            "inspect", "Fixtures/checkpoints/tf1/model.ckpt", "--spec", "Fixtures/seed/spec.yaml", "--suggest-spec",
            "/tmp/never.yaml",
        ])
        #expect(result.status == 64)
    }
}
