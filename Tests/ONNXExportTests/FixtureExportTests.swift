import Foundation
import NumPyFormat
import ONNXExport
import ParityModel
import TFParityKit
import TensorCore
import TestSupport
import Testing

/// A model to convert, export and run in onnxruntime against TensorFlow's recording of it.
struct ExportCase: Sendable, CustomTestStringConvertible {
    var name: String
    var source: String
    var spec: String?
    var config: String?
    var recording: String
    var layout: ONNXLayout = .nhwc
    /// Export without the recording: the input's height and width unknown, SAME windows as `auto_pad`.
    var inferShape = false
    var testDescription: String { name }

    /// The seed network and every model file of `Fixtures/keras/manifest.json` "fixtures" that converts (those with
    /// an `expected_error` are refused by convert, by design).
    static func all() -> [ExportCase] {
        var cases = [
            ExportCase(
                name: "seed", source: "seed/params.npz", spec: "seed/spec.yaml", recording: "seed/recording.npz")
        ]
        guard let data = try? Data(contentsOf: fixture("keras/manifest.json")),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let fixtures = root["fixtures"] as? [[String: Any]]
        else { return cases }
        for entry in fixtures where entry["expected_error"] == nil {
            guard let recording = entry["recording"] as? String, let files = entry["files"] as? [String: String] else {
                continue
            }
            let recordings = entry["recordings"] as? [String: String] ?? [:]
            for file in files.keys.sorted() {
                cases.append(
                    ExportCase(
                        name: file, source: "keras/\(file)", config: (entry["config"] as? String).map { "keras/\($0)" },
                        recording: "keras/\(recordings[file] ?? recording)"))
            }
        }
        return cases
    }
}

/// The proof of the ONNX export: onnx's checker (full_check) accepts every exported model, and onnxruntime reproduces
/// TensorFlow's recorded `output` at verify's default tolerance (|a − e| ≤ 1e-5 + 1e-4·|e|, inside the bound
/// of 1e-3 + 1e-3·|e|). Skipped with a message where no Python with onnx and onnxruntime is found; under CI, where
/// Scripts/test.sh makes one, its absence fails.
@Suite struct FixtureExportTests {
    static let cases = ExportCase.all()
    static let extraCases = [
        // Channels-first edges: the recording's input is transposed to NCHW for onnxruntime.
        ExportCase(
            name: "cnn (nchw)", source: "keras/cnn/model.keras", recording: "keras/cnn/recording.h5", layout: .nchw),
        ExportCase(
            name: "cropping (nchw)", source: "keras/cropping/model.keras", recording: "keras/cropping/recording.h5",
            layout: .nchw),
        // Unknown height and width: SAME windows as auto_pad = SAME_UPPER.
        ExportCase(
            name: "mobilenet_block (auto_pad)", source: "keras/mobilenet_block/model.h5",
            recording: "keras/mobilenet_block/recording.h5", inferShape: true),
        ExportCase(
            name: "cnn (auto_pad)", source: "keras/cnn/model.keras", recording: "keras/cnn/recording.h5",
            inferShape: true),
    ]

    @Test func everyFixtureIsACase() {
        #expect(Self.cases.count >= 10)
        #expect(Self.cases.contains { $0.name == "mobilenet_block/model.h5" })
    }

    /// Under CI the Python must be there: a missing one fails here instead of skipping every proof silently.
    @Test func pythonWithONNXIsThereUnderCI() {
        if ONNXCheck.isRequired { #expect(ONNXCheck.python != nil, "CI: \(ONNXCheck.skipReason)") }
    }

    @Test(
        .enabled(if: ONNXCheck.python != nil || ONNXCheck.isRequired, Comment(rawValue: ONNXCheck.skipReason)),
        arguments: cases + extraCases)
    func onnxruntimeReproducesTheRecording(_ testCase: ExportCase) throws {
        let python = try #require(ONNXCheck.python, "\(ONNXCheck.skipReason)")
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let model = directory.appendingPathComponent("model.safetensors").path
        _ = try Converter.convert(
            source: fixture(testCase.source).path, spec: testCase.spec.map { fixture($0).path },
            config: testCase.config.map { fixture($0).path }, output: model)
        let recording = fixture(testCase.recording).path
        let onnx = directory.appendingPathComponent("model.onnx").path
        let result = try Exporter.export(
            model: model, onnx: onnx,
            options: ONNXFileOptions(layout: testCase.layout, recording: testCase.inferShape ? nil : recording))
        // With the recording every SAME window has explicit pads; both auto_pad cases have SAME windows.
        #expect(result.autoPadded == testCase.inferShape)

        // check_onnx.py reads NPZ (HDF5 only with h5py): the recording's inputs (as the graph takes them) and
        // outputs: `input`, or `input/<name>` feeding the graph input `<name>`; the first output as `output`, each
        // of several as `<layer>/output`.
        let recorded = try Recording.load(path: recording)
        let converted = try ModelFile.read(path: model)
        var arrays: [(String, Tensor)] = []
        for name in converted.inputNames {
            let input = try #require(recorded.values[name], "recording has no '\(name)'")
            let fed = testCase.layout == .nchw && input.shape.count == 4 ? nchw(input) : input
            arrays.append((name, Tensor(shape: fed.shape, floats: fed.values)))
        }
        #expect(
            result.inputs.map(\.name) == converted.inputNames.map { ONNXExporter.graphInputName($0, of: converted) })
        #expect(result.outputs.count == converted.outputNames.count)
        var compared: [(output: String, key: String)] = []
        for (index, (graphOutput, layer)) in zip(result.outputs, converted.outputNames).enumerated() {
            let key = index == 0 ? "output" : "\(layer)/output"
            let value = try #require(recorded.values[key], "recording has no '\(key)'")
            let fed = testCase.layout == .nchw && value.shape.count == 4 ? nchw(value) : value
            arrays.append((key, Tensor(shape: fed.shape, floats: fed.values)))
            compared.append((graphOutput.name, key))
        }
        let expected = directory.appendingPathComponent("expected.npz").path
        try NPZWriter.write(arrays, to: expected)
        // Verify's fixed defaults for float32 models; a mixed-precision model's float16 (bfloat16) layers round where
        // onnxruntime and TensorFlow need not agree to the last bit: the 1e-3 + 1e-3·|e| (ten times that).
        let precisions = Set(converted.layers.map(\.precision))
        let (atol, rtol) =
            precisions.contains(.bfloat16) ? (1e-2, 1e-2) : precisions.contains(.float16) ? (1e-3, 1e-3) : (1e-5, 1e-4)
        for (output, key) in compared {
            let check = try ONNXCheck.run(
                python, model: onnx, expect: expected, atol: atol, rtol: rtol,
                extra: ["--output", output, "--key", key])
            #expect(check.status == 0, "\(output): \(check.stdout)\(check.stderr)")
            #expect(check.stdout.contains("passed (full_check)"))
            let errors = try #require(ONNXCheck.errors(in: check.stdout), "\(check.stdout)")
            print("onnx export \(testCase.name) \(output): max abs error \(errors.abs), max rel error \(errors.rel)")
        }
    }

    /// `[N, H, W, C]` → `[N, C, H, W]`.
    func nchw(_ x: FloatTensor) -> FloatTensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var out = [Float](repeating: 0, count: x.count)
        for b in 0..<n {
            for y in 0..<h {
                for i in 0..<w {
                    for k in 0..<c { out[((b * c + k) * h + y) * w + i] = x.values[((b * h + y) * w + i) * c + k] }
                }
            }
        }
        return FloatTensor(shape: [n, c, h, w], values: out)
    }
}
