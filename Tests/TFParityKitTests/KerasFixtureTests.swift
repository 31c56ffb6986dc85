import Foundation
import ParityModel
import Importers
import Reports
import TFParityKit
import TensorCore
import TestSupport
import Testing

/// One model file of `Fixtures/keras/manifest.json` (written by Scripts/fixtures/keras_models.py).
struct KerasFixtureFile: Sendable, CustomTestStringConvertible {
    var fixture: String
    var file: String
    /// `keras2-h5`, `keras3-h5`, `keras3-keras`, `keras3-weights+config`.
    var format: String
    var recording: String
    var config: String?
    var expectedError: (layer: String, className: String)?
    var testDescription: String { file }

    /// Every model file of the manifest (empty when it cannot be read; a test checks it is not).
    static func load() -> [KerasFixtureFile] {
        guard let data = try? Data(contentsOf: TestSupport.fixture("keras/manifest.json")),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let fixtures = root["fixtures"] as? [[String: Any]]
        else { return [] }
        var files: [KerasFixtureFile] = []
        for entry in fixtures {
            guard let name = entry["name"] as? String, let recording = entry["recording"] as? String,
                let kinds = entry["files"] as? [String: String]
            else { continue }
            let error = (entry["expected_error"] as? [String: Any]).flatMap { error -> (String, String)? in
                guard let layer = error["layer"] as? String, let className = error["class"] as? String else {
                    return nil
                }
                return (layer, className)
            }
            // Fixtures saved in both flavours record each file's own run (`recordings`).
            let recordings = entry["recordings"] as? [String: String] ?? [:]
            for (file, format) in kinds.sorted(by: { $0.key < $1.key }) {
                files.append(
                    KerasFixtureFile(
                        fixture: name, file: file, format: format, recording: recordings[file] ?? recording,
                        config: entry["config"] as? String, expectedError: error))
            }
        }
        return files
    }
}

/// Fixtures whose end-to-end run is expected to drift past the default tolerance, and why.
@Suite struct KerasFixtureTests {
    static let files = KerasFixtureFile.load()

    @Test func manifestIsPresent() {
        #expect(Self.files.count >= 6)
        #expect(Set(Self.files.map(\.format)).isSuperset(of: ["keras2-h5", "keras3-h5", "keras3-keras"]))
    }

    /// Every supported fixture converts with no spec and passes verify: local checks, then end to end.
    @Test(arguments: files.filter { $0.expectedError == nil })
    func convertsAndVerifies(_ entry: KerasFixtureFile) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let output = directory.appendingPathComponent("model.safetensors").path
        let result = try Converter.convert(
            source: fixture("keras/\(entry.file)").path, spec: nil,
            config: entry.config.map { fixture("keras/\($0)").path }, output: output)
        #expect(result.sourceKind.rawValue == entry.format.replacingOccurrences(of: "+config", with: ""))

        let model = try ModelFile.read(path: output)
        #expect(model.provenance?.sourceKind == result.sourceKind.rawValue)
        let recording = fixture("keras/\(entry.recording)").path
        let local = try Verifier.verify(model: output, recording: recording)
        #expect(local.passed, "\(local.results.filter { !$0.passed }.map { "\($0.layer) \($0.stage)" })")
        #expect(local.results.contains { $0.stage == .postBN })

        let full = try Verifier.verify(model: output, recording: recording, options: VerifyOptions(endToEnd: true))
        let endToEnd = full.results.filter { $0.stage == .endToEnd }
        #expect(!endToEnd.isEmpty)
        let failed = endToEnd.filter { !$0.passed }.map { "\($0.layer) \($0.tensor)" }
        #expect(failed.isEmpty, "\(failed)")
    }

    /// Parameters keep the Keras names and the file's exact values.
    @Test func parametersAreNamedAfterKerasLayers() throws {
        let (model, kind) = try Converter.loadModel(
            source: fixture("keras/mobilenet_block/model.h5").path, spec: nil)
        #expect(kind == .keras2H5)
        #expect(model.parameters["dw/depthwise_kernel"] != nil)
        #expect(model.parameters["sep/pointwise_kernel"] != nil)
        #expect(model.parameters["stem_bn/moving_variance"] != nil)
        #expect(model.layers.allSatisfy { $0.name != "input" })
    }

    @Test func unsupportedLayerIsNamed() throws {
        for entry in Self.files {
            guard let expected = entry.expectedError else { continue }
            #expect {
                _ = try Converter.loadModel(source: fixture("keras/\(entry.file)").path, spec: nil)
            } throws: { error in
                guard let error = error as? FileError else { return false }
                return error.member == expected.layer && error.reason.contains("'\(expected.className)'")
            }
        }
    }
}

@Suite struct KerasConfigRefusalTests {
    struct RefusalCase: Sendable, CustomTestStringConvertible {
        var name: String
        var layer: String
        var reasonFragment: String
        var testDescription: String { name }
    }

    static func sequential(_ layer: String) -> String {
        """
        {"class_name": "Sequential", "config": {"name": "s", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 4, 4, 3], "name": "in"}},
          \(layer)]}}
        """
    }

    static let cases: [(RefusalCase, String)] = [
        (
            RefusalCase(name: "channels_first", layer: "conv", reasonFragment: "channels_first"),
            sequential(
                """
                {"class_name": "Conv2D", "config": {"name": "conv", "filters": 2, "kernel_size": [3, 3],
                 "data_format": "channels_first", "padding": "valid", "use_bias": true}}
                """)
        ),
        (
            RefusalCase(name: "unsupported class", layer: "attn", reasonFragment: "'MultiHeadAttention'"),
            sequential(#"{"class_name": "MultiHeadAttention", "config": {"name": "attn"}}"#)
        ),
        (
            RefusalCase(name: "nested model", layer: "inner", reasonFragment: "nested"),
            sequential(#"{"class_name": "Sequential", "config": {"name": "inner", "layers": []}}"#)
        ),
        (
            RefusalCase(name: "causal padding", layer: "conv", reasonFragment: "causal"),
            sequential(
                """
                {"class_name": "Conv2D", "config": {"name": "conv", "filters": 2, "kernel_size": 3,
                 "padding": "causal"}}
                """)
        ),
    ]

    /// Refusals happen while reading the config, before any weight is matched, and name the layer.
    @Test(arguments: cases.map(\.0))
    func refusesWithTheLayersName(_ c: RefusalCase) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let config = directory.appendingPathComponent("config.json")
        let text = try #require(Self.cases.first { $0.0.name == c.name }?.1)
        try Data(text.utf8).write(to: config)
        #expect {
            _ = try Converter.loadModel(
                source: fixture("keras/mlp_weights_config/model.weights.h5").path, spec: nil, config: config.path)
        } throws: { error in
            guard let error = error as? FileError else { return false }
            return error.member == c.layer && error.reason.contains(c.reasonFragment)
        }
    }

    @Test func snakeCaseMatchesKeras() {
        // naming.to_snake_case in Keras 3.
        #expect(KerasNaming.snakeCase("BatchNormalization") == "batch_normalization")
        #expect(KerasNaming.snakeCase("Conv2D") == "conv2d")
        #expect(KerasNaming.snakeCase("DepthwiseConv2D") == "depthwise_conv2d")
        #expect(KerasNaming.snakeCase("GlobalAveragePooling2D") == "global_average_pooling2d")
        #expect(KerasNaming.snakeCase("ReLU") == "re_lu")
        #expect(KerasNaming.snakeCase("InputLayer") == "input_layer")
    }
}
