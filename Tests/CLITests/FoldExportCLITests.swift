import Foundation
import TestSupport
import Testing

/// `tfparity fold` and `tfparity export` as a user runs them: exit codes, output, files, errors.
@Suite struct FoldExportCLITests {
    func convert(_ arguments: [String], to output: String) throws {
        let result = try runTFParity(["convert"] + arguments + ["-o", output])
        try #require(result.status == 0, "\(result.stderr)")
    }

    @Test func foldTheSeedThenVerifyAndExport() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("seed.safetensors").path
        try convert(["Fixtures/seed/params.npz", "--spec", "Fixtures/seed/spec.yaml"], to: model)
        let folded = dir.appendingPathComponent("folded.safetensors").path

        let fold = try runTFParity(["fold", model, "-o", folded, "--recording", "Fixtures/seed/recording.npz"])
        #expect(fold.status == 0, "\(fold.stderr)")
        #expect(fold.stdout.contains("5 layers (was 7), 2 batch norms folded"))
        #expect(fold.stdout.contains("folded layer0/bn into layer0"))
        #expect(fold.stdout.contains("folding cost on recording.npz input [32, 8]: max |folded - unfolded| = "))
        #expect(fold.stderr.isEmpty)

        let verify = try runTFParity(["verify", folded, "Fixtures/seed/recording.npz", "--end-to-end"])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("folded model: layer0/bn into layer0, layer1/bn into layer1"))
        #expect(verify.stdout.contains("not compared (folded): layer0/bn/post_bn"))
        #expect(verify.stdout.contains("folding cost: max |folded - unfolded| = "))

        let json = try runTFParity(["verify", folded, "Fixtures/seed/recording.h5", "--format", "json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let folding = try #require(object["folding"] as? [String: Any])
        #expect((folding["folded"] as? [[String: String]])?.first == ["bn": "layer0/bn", "into": "layer0"])
        #expect(folding["max_abs_difference"] is Double)
        #expect((object["folded_keys"] as? [String])?.contains("layer1/output") == true)

        let npz = dir.appendingPathComponent("folded.npz").path
        let export = try runTFParity(["export", folded, "--npz", npz])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout == "wrote \(npz): 6 tensors (1228 bytes of data)\n")
        #expect(FileManager.default.fileExists(atPath: npz))
    }

    @Test func foldTheCNNWithAnInputShape() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("cnn.safetensors").path
        try convert(["Fixtures/keras/cnn/model.keras"], to: model)
        let folded = dir.appendingPathComponent("cnn-folded.safetensors").path
        let fold = try runTFParity(["fold", model, "-o", folded, "--input-shape", "2,12,12,3"])
        #expect(fold.status == 0, "\(fold.stderr)")
        #expect(fold.stdout.contains("14 layers (was 17), 3 batch norms folded"))
        #expect(fold.stdout.contains("folding cost on deterministic [2, 12, 12, 3]"))
        let verify = try runTFParity(["verify", folded, "Fixtures/keras/cnn/recording.h5"])
        #expect(verify.status == 0, "\(verify.stdout)")

        // Without a recording or a shape, a convolutional model still folds; the cost is said to be unmeasured.
        let unmeasured = try runTFParity(["fold", model, "-o", folded])
        #expect(unmeasured.status == 0)
        #expect(unmeasured.stdout.contains("folding cost not measured"))

        // A shape that does not fit the model is an input error.
        let wrong = try runTFParity(["fold", model, "-o", folded, "--input-shape", "2,12,12,5"])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.hasPrefix("error: "))
    }

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var status: Int32
        var message: String
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(arguments: ["fold", "missing.safetensors", "-o", "OUT"], status: 2, message: "missing.safetensors"),
        ErrorCase(
            arguments: ["export", "missing.safetensors", "--npz", "OUT"], status: 2, message: "missing.safetensors"),
        ErrorCase(
            arguments: ["fold", "Fixtures/seed/params.npz", "-o", "OUT"], status: 2, message: "Fixtures/seed/params.npz"
        ),
        ErrorCase(
            arguments: ["fold", "MODEL", "-o", "OUT", "--input-shape", "4,x"], status: 64, message: "--input-shape"),
        ErrorCase(arguments: ["fold", "MODEL"], status: 64, message: "--output"),
        ErrorCase(arguments: ["export", "MODEL"], status: 64, message: "--npz"),
        ErrorCase(arguments: ["export", "MODEL", "--npz", "OUT", "--onnx", "OUT"], status: 64, message: "--onnx"),
        ErrorCase(arguments: ["export", "MODEL", "--onnx", "MODEL"], status: 64, message: "names the input"),
        ErrorCase(
            arguments: ["export", "MODEL", "--onnx", "OUT", "--recording", "OUT"], status: 64,
            message: "names the input"),
        ErrorCase(arguments: ["export", "MODEL", "--onnx", "OUT", "--opset", "10"], status: 64, message: "--opset 10"),
        ErrorCase(arguments: ["export", "MODEL", "--npz", "OUT", "--opset", "13"], status: 64, message: "--onnx only"),
        ErrorCase(arguments: ["export", "MODEL", "--onnx", "OUT", "--layout", "hwcn"], status: 64, message: "hwcn"),
        ErrorCase(
            arguments: ["export", "missing.safetensors", "--onnx", "OUT"], status: 2, message: "missing.safetensors"),
        ErrorCase(
            arguments: ["export", "MODEL", "--onnx", "OUT", "--recording", "Fixtures/keras/cnn/recording.h5"],
            status: 2, message: "layer0"),
    ]

    /// A missing or malformed input is exit 2 with one `error:` line naming the file; usage errors are 64. No
    /// output file is left behind.
    @Test(arguments: errorCases)
    func errors(_ errorCase: ErrorCase) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("seed.safetensors").path
        if errorCase.arguments.contains("MODEL") {
            try convert(["Fixtures/seed/params.npz", "--spec", "Fixtures/seed/spec.yaml"], to: model)
        }
        let output = dir.appendingPathComponent("out").path
        let arguments = errorCase.arguments.map { $0 == "OUT" ? output : $0 == "MODEL" ? model : $0 }
        let result = try runTFParity(arguments)
        #expect(result.status == errorCase.status, "\(result.stderr)")
        #expect(result.stderr.contains(errorCase.message))
        if errorCase.status == 2 {
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1)
            #expect(lines.first?.hasPrefix("error: ") == true)
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func exportIntoAMissingDirectoryLeavesNothing() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("seed.safetensors").path
        try convert(["Fixtures/seed/params.npz", "--spec", "Fixtures/seed/spec.yaml"], to: model)
        let result = try runTFParity(["export", model, "--npz", dir.appendingPathComponent("no/such/p.npz").path])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: \(dir.path)/no/such/p.npz: cannot be written: "))
    }

    /// `export --onnx` writes the model with its input's shape from the recording, and says what it wrote.
    @Test func exportTheSeedToONNX() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("seed.safetensors").path
        try convert(["Fixtures/seed/params.npz", "--spec", "Fixtures/seed/spec.yaml"], to: model)
        let onnx = dir.appendingPathComponent("seed.onnx").path
        let export = try runTFParity(["export", model, "--onnx", onnx, "--recording", "Fixtures/seed/recording.npz"])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.hasPrefix("wrote \(onnx): ONNX opset 28, 10 nodes, 10 initializers ("))
        #expect(export.stdout.contains("  input  'input' [N, 8]\n  output 'output' [N, 3]\n"))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: onnx))
        for key in ["source_sha256", "tfparity_version", "recording", "recording.npz"] {
            #expect(bytes.range(of: Data(key.utf8)) != nil, "metadata lacks \(key)")
        }
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["seed.onnx", "seed.safetensors"])
    }

    /// A layer the opset cannot express is exit 2 naming the model file and the layer; nothing is written.
    @Test func opsetTooLowNamesTheLayer() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("mlp.safetensors").path
        try convert(["Fixtures/keras/mlp_bn_variants/model.h5"], to: model)
        let onnx = dir.appendingPathComponent("mlp.onnx").path
        let result = try runTFParity(["export", model, "--onnx", onnx, "--opset", "11"])
        #expect(result.status == 2)
        #expect(
            result.stderr
                == "error: \(model): softmax: 'activation' needs opset 13 or newer (before opset 13 Softmax flattens "
                + "its input to 2-D from the axis on); asked for opset 11\n")
        #expect(!FileManager.default.fileExists(atPath: onnx))
        let fine = try runTFParity(["export", model, "--onnx", onnx, "--opset", "13"])
        #expect(fine.status == 0, "\(fine.stderr)")
    }
}
