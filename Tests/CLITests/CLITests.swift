import Foundation
import NumPyFormat
import TestSupport
import Testing

/// End-to-end tests of the built `tfparity` binary: exit codes, output and files.
@Suite struct CLITests {
    /// Converts the seed fixture with the CLI into `dir`.
    func convertSeed(into dir: URL, name: String = "seed") throws -> String {
        let output = dir.appendingPathComponent("\(name).safetensors").path
        let result = try runTFParity([
            "convert", "Fixtures/\(name)/params.npz", "--spec", "Fixtures/\(name)/spec.yaml", "-o", output,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        return output
    }

    @Test func convertVerifyInspectTheSeed() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try convertSeed(into: dir)

        let text = try runTFParity(["verify", model, "Fixtures/seed/recording.npz", "--end-to-end"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("PASSED"))
        #expect(text.stdout.contains("layer0/bn  post_bn"))

        let json = try runTFParity(["verify", model, "Fixtures/seed/recording.h5", "--format", "json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["passed"] as? Bool == true)
        let tolerance = try #require(object["tolerance"] as? [String: Any])
        #expect(tolerance["rule"] as? String == "auto")
        #expect(tolerance["atol"] as? Double == 1e-5 && tolerance["rtol"] as? Double == 1e-4)
        #expect(tolerance["unit_roundoff"] as? Double == 0x1p-24)
        let fixed = try runTFParity([
            "verify", model, "Fixtures/seed/recording.h5", "--format", "json", "--atol", "2e-5",
        ])
        let fixedObject = try #require(
            try JSONSerialization.jsonObject(with: Data(fixed.stdout.utf8)) as? [String: Any])
        let fixedTolerance = try #require(fixedObject["tolerance"] as? [String: Any])
        #expect(fixedTolerance["rule"] as? String == "fixed" && fixedTolerance["atol"] as? Double == 2e-5)
        let layers = try #require(object["layers"] as? [[String: Any]])
        #expect(layers.count == 8)
        for layer in layers {
            for key in [
                "name", "stage", "count", "mismatches", "max_abs_error", "max_rel_error", "passed", "diagnosis",
            ] {
                #expect(layer[key] != nil, "missing \(key)")
            }
            #expect(layer["diagnosis"] is NSNull)
        }
        #expect(object["timings"] is [String: Any])

        let inspect = try runTFParity(["inspect", model, "--format", "json"])
        #expect(inspect.status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        let batchNorms = try #require(report["batchnorm"] as? [[String: Any]])
        #expect(batchNorms.map { $0["name"] as? String } == ["layer0/bn", "layer1/bn"])
        #expect(batchNorms.first?["epsilon"] as? Double == 0.001)
        #expect(batchNorms.first?["variance_below_epsilon"] as? Int == 3)
    }

    @Test func inspectADumpWithAndWithoutSpec() throws {
        let withSpec = try runTFParity(["inspect", "Fixtures/seed/params.h5", "--spec", "Fixtures/seed/spec.json"])
        #expect(withSpec.status == 0)
        #expect(withSpec.stdout.contains("batchnorm layer1/bn: 8 channels, epsilon 0.001"))
        let listing = try runTFParity(["inspect", "Fixtures/seed/params.npz", "--format", "json"])
        #expect(listing.status == 0)
        #expect(listing.stdout.contains("layer0/bn/layer0/bn/moments/Squeeze/ExponentialMovingAverage"))
    }

    /// Every recording made with a known mistake exits 1 and names its diagnosis in the JSON.
    @Test(arguments: ManifestEntry.load())
    func diagnosisRecordings(_ entry: ManifestEntry) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try convertSeed(into: dir, name: entry.model)
        let result = try runTFParity(["verify", model, "Fixtures/diagnosis/" + entry.recording, "--format", "json"])
        #expect(result.status == (entry.expectedID == nil ? 0 : 1))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let layers = try #require(object["layers"] as? [[String: Any]])
        guard let layer = entry.layer, let id = entry.expectedID else { return }
        let failing = try #require(layers.first { $0["name"] as? String == layer && $0["passed"] as? Bool == false })
        let diagnosis = try #require(failing["diagnosis"] as? [String: Any])
        #expect(diagnosis["id"] as? String == id)
        #expect((diagnosis["detail"] as? String)?.isEmpty == false)
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        var name: String
        /// Arguments; `$DIR` is the test's temporary directory, `$OUT` the output path that must not appear.
        var arguments: [String]
        /// What the one `error:` line must contain.
        var mentions: [String]
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(
            name: "missing source",
            arguments: ["convert", "$DIR/nope.npz", "--spec", "Fixtures/seed/spec.yaml", "-o", "$OUT"],
            mentions: ["$DIR/nope.npz", "no such file"]),
        BadInput(
            name: "not a source",
            arguments: ["convert", "$DIR/garbage.bin", "--spec", "Fixtures/seed/spec.yaml", "-o", "$OUT"],
            mentions: ["$DIR/garbage.bin"]),
        BadInput(
            name: "truncated npz",
            arguments: ["convert", "$DIR/truncated.npz", "--spec", "Fixtures/seed/spec.yaml", "-o", "$OUT"],
            mentions: ["$DIR/truncated.npz"]),
        BadInput(
            name: "npz member crc",
            arguments: ["convert", "$DIR/crc.npz", "--spec", "Fixtures/seed/spec.yaml", "-o", "$OUT"],
            mentions: ["$DIR/crc.npz", "layer0/W"]),
        BadInput(
            name: "truncated hdf5",
            arguments: ["convert", "$DIR/truncated.h5", "--spec", "Fixtures/seed/spec.yaml", "-o", "$OUT"],
            mentions: ["$DIR/truncated.h5"]),
        BadInput(
            name: "bad npy", arguments: ["convert", "$DIR/npydir", "--spec", "Fixtures/seed/spec.yaml", "-o", "$OUT"],
            mentions: ["W.npy"]),
        BadInput(
            name: "no spec", arguments: ["convert", "Fixtures/seed/params.npz", "-o", "$OUT"],
            mentions: ["Fixtures/seed/params.npz", "--spec"]),
        BadInput(
            name: "missing tensor",
            arguments: ["convert", "Fixtures/seed/params.npz", "--spec", "$DIR/missing-tensor.yaml", "-o", "$OUT"],
            mentions: ["Fixtures/seed/params.npz", "layer0/bn/gama", "no such tensor", "layer0/bn/gamma"]),
        BadInput(
            name: "wrong shape",
            arguments: ["convert", "Fixtures/seed/params.npz", "--spec", "$DIR/wrong-shape.yaml", "-o", "$OUT"],
            mentions: ["Fixtures/seed/params.npz", "layer2/W", "[8, 3]", "[16, out]"]),
        BadInput(
            name: "unknown layer type",
            arguments: ["convert", "Fixtures/seed/params.npz", "--spec", "$DIR/unknown-type.yaml", "-o", "$OUT"],
            mentions: ["$DIR/unknown-type.yaml", "conv9d"]),
        BadInput(
            name: "missing epsilon",
            arguments: ["convert", "Fixtures/seed/params.npz", "--spec", "$DIR/no-epsilon.yaml", "-o", "$OUT"],
            mentions: ["$DIR/no-epsilon.yaml", "layer0/bn", "epsilon"]),
        BadInput(
            name: "spec not yaml",
            arguments: ["convert", "Fixtures/seed/params.npz", "--spec", "$DIR/broken.yaml", "-o", "$OUT"],
            mentions: ["$DIR/broken.yaml"]),
        BadInput(
            name: "recording without input", arguments: ["verify", "$DIR/model.safetensors", "$DIR/model.safetensors"],
            mentions: ["$DIR/model.safetensors", "input"]),
        BadInput(
            name: "recording that does not fit",
            arguments: ["verify", "$DIR/headless.safetensors", "Fixtures/seed/recording.npz"],
            mentions: ["Fixtures/seed/recording.npz", "[32, 8]"]),
        BadInput(
            name: "model not safetensors",
            arguments: ["verify", "Fixtures/seed/params.npz", "Fixtures/seed/recording.npz"],
            mentions: ["Fixtures/seed/params.npz"]),
        BadInput(name: "inspect garbage", arguments: ["inspect", "$DIR/garbage.bin"], mentions: ["$DIR/garbage.bin"]),
    ]

    /// Writes the malformed inputs the table refers to into `dir`, from the good fixtures.
    func prepareBadInputs(in dir: URL) throws {
        func write(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: dir.appendingPathComponent(name))
        }
        let npz = [UInt8](try Data(contentsOf: fixture("seed/params.npz")))
        try write("garbage.bin", Array("this is not a tensor file at all".utf8))
        try write("truncated.npz", Array(npz.prefix(npz.count / 2)))
        // Flip one payload byte of the first member (layer0/W, stored): its CRC-32 no longer matches.
        var crc = npz
        let nameLength = Int(crc[26]) | Int(crc[27]) << 8
        let extraLength = Int(crc[28]) | Int(crc[29]) << 8
        crc[30 + nameLength + extraLength + 200] ^= 0xff
        try write("crc.npz", crc)
        let h5 = [UInt8](try Data(contentsOf: fixture("seed/params.h5")))
        try write("truncated.h5", Array(h5.prefix(3000)))
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("npydir/layer0"), withIntermediateDirectories: true)
        try write("npydir/layer0/W.npy", [0x93] + Array("NUMPY".utf8) + [1, 0, 10, 0] + Array("{'descr': ".utf8))

        let spec = try String(contentsOf: fixture("seed/spec.yaml"), encoding: .utf8)
        try spec.replacingOccurrences(of: "gamma: layer0/bn/gamma", with: "gamma: layer0/bn/gama")
            .write(to: dir.appendingPathComponent("missing-tensor.yaml"), atomically: true, encoding: .utf8)
        try spec.replacingOccurrences(of: "kernel: layer1/W", with: "kernel: layer2/W")
            .write(to: dir.appendingPathComponent("wrong-shape.yaml"), atomically: true, encoding: .utf8)
        try spec.replacingOccurrences(of: "type: relu, name: layer0/relu", with: "type: conv9d, name: layer0/relu")
            .write(to: dir.appendingPathComponent("unknown-type.yaml"), atomically: true, encoding: .utf8)
        try spec.replacingOccurrences(of: "name: layer0/bn, epsilon: 0.001,", with: "name: layer0/bn,")
            .write(to: dir.appendingPathComponent("no-epsilon.yaml"), atomically: true, encoding: .utf8)
        try "layers: [ {type: dense, name: x".write(
            to: dir.appendingPathComponent("broken.yaml"), atomically: true, encoding: .utf8)
        // A model whose first layer expects 16 features: the recorded [32, 8] input cannot feed it.
        let headless = spec.split(separator: "\n").filter {
            !$0.contains("layer0") || $0.contains("layer0/bn") && false
        }
        try (["layers:"] + headless.drop { !$0.contains("type: dense, name: layer1") }).joined(separator: "\n")
            .write(to: dir.appendingPathComponent("headless.yaml"), atomically: true, encoding: .utf8)
        for (name, specFile) in [
            ("model", fixture("seed/spec.yaml").path), ("headless", dir.appendingPathComponent("headless.yaml").path),
        ] {
            let result = try runTFParity([
                "convert", "Fixtures/seed/params.npz", "--spec", specFile, "-o",
                dir.appendingPathComponent("\(name).safetensors").path,
            ])
            #expect(result.status == 0, "\(result.stderr)")
        }
    }

    /// Bad input: exit 2, exactly one `error:` line naming the file (and tensor), no output file, no temp file.
    @Test(arguments: badInputs)
    func badInputExitsTwo(_ bad: BadInput) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        try prepareBadInputs(in: dir)
        let output = dir.appendingPathComponent("out/out.safetensors")
        try FileManager.default.createDirectory(
            at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
        let substitute = { (text: String) in
            text.replacingOccurrences(of: "$DIR", with: dir.path).replacingOccurrences(of: "$OUT", with: output.path)
        }
        let result = try runTFParity(bad.arguments.map(substitute))
        #expect(result.status == 2, "stdout: \(result.stdout) stderr: \(result.stderr)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "\(result.stderr)")
        let line = String(lines.first ?? "")
        #expect(line.hasPrefix("error: "), "\(line)")
        for mention in bad.mentions.map(substitute) {
            #expect(line.contains(mention), "'\(line)' does not mention '\(mention)'")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: output.deletingLastPathComponent().path).isEmpty)
    }

    @Test func failedConvertLeavesAnExistingOutputUntouched() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        try prepareBadInputs(in: dir)
        let output = dir.appendingPathComponent("model.safetensors")
        let before = try Data(contentsOf: output)
        let result = try runTFParity([
            "convert", "Fixtures/seed/params.npz", "--spec", dir.appendingPathComponent("wrong-shape.yaml").path, "-o",
            output.path,
        ])
        #expect(result.status == 2)
        #expect(try Data(contentsOf: output) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp") }.isEmpty)
    }

    @Test(arguments: [
        ["convert", "Fixtures/seed/params.npz", "--spec", "Fixtures/seed/spec.yaml"],
        ["verify", "only-one-argument"],
        ["verify", "a", "b", "--atol", "-1"],
        ["frobnicate"],
        ["verify", "a", "b", "--format", "xml"],
    ])
    func usageErrorsExit64(_ arguments: [String]) throws {
        let result = try runTFParity(arguments)
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("Error") || result.stderr.contains("error"))
    }
}

@Suite struct KerasCLITests {
    @Test func unsupportedLayerExitsTwoNamingIt() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let output = directory.appendingPathComponent("m.safetensors").path
        let result = try runTFParity(["convert", "Fixtures/keras/unsupported/model.keras", "-o", output])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: Fixtures/keras/unsupported/model.keras: lstm: "))
        #expect(result.stderr.contains("'LSTM'"))
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func weightsWithConfigConvertAndVerify() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let output = directory.appendingPathComponent("m.safetensors").path
        let convert = try runTFParity([
            "convert", "Fixtures/keras/mlp_weights_config/model.weights.h5", "--config",
            "Fixtures/keras/mlp_weights_config/config.json", "-o", output,
        ])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(convert.stdout.contains("keras3-weights"))
        let verify = try runTFParity([
            "verify", output, "Fixtures/keras/mlp_weights_config/recording.h5", "--end-to-end",
        ])
        #expect(verify.status == 0, "\(verify.stdout)")
    }

    @Test func weightsWithoutConfigAskForIt() throws {
        let result = try runTFParity([
            "convert", "Fixtures/keras/mlp_weights_config/model.weights.h5", "-o", "/tmp/never-written.safetensors",
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--config"))
    }

    @Test func inspectReadsAKerasFile() throws {
        let result = try runTFParity(["inspect", "Fixtures/keras/cnn/model.keras", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"bn1\""))
        #expect(result.stdout.contains("keras3-keras"))
    }
}

extension CLITests {
    /// The bench's `__time-forward` prints one JSON line: the timings, and the kernels that ran (the same names as
    /// `MatrixProduct.name` and `VectorKernels.name`), so a benchmark table can say which path it measured.
    @Test func timeForwardNamesTheKernelsThatRan() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try convertSeed(into: dir)
        let recorded = try NPZArchive(path: "Fixtures/seed/recording.npz").tensor(named: "input")
        let input = dir.appendingPathComponent("input.npy").path
        #expect(
            FileManager.default.createFile(
                atPath: input, contents: Data(NPZWriter.npyHeader(recorded) + recorded.bytes)))
        let result = try runTFParity(["__time-forward", model, input, "--calls", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stdout.split(separator: "\n").last.map(String.init))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["calls"] as? Int == 2)
        #expect(["avx512", "avx2", "openblas", "portable"].contains(object["matrix_product"] as? String ?? ""))
        #expect(["avx512", "avx2", "portable"].contains(object["vector_kernels"] as? String ?? ""))
        #if arch(x86_64)
            // The machines this project runs on have AVX2 and FMA at least.
            #expect(object["matrix_product"] as? String != "portable")
            #expect(object["vector_kernels"] as? String != "portable")
        #endif
    }
}
