import Foundation
import Importers
import ParityModel
import SafeTensors
import TFParityKit
import TestSupport
import Testing

/// `Fixtures/graphs/manifest.json` as the graph importer's tests read it: each model's files, feeds and the layers
/// TensorFlow's graph must give (names, types in the fixture script's vocabulary, epsilons).
struct GraphFixture: Decodable, Sendable, CustomStringConvertible {
    struct Layer: Decodable, Sendable {
        var name: String
        var type: String
        var epsilon: Double?
    }
    struct ExpectedError: Decodable, Sendable {
        var op: String?
        var node: String?
        var file: String?
    }
    var name: String
    var kind: String
    var files: [String: String]
    var feeds: [String: Bool]?
    var layers: [Layer]?
    var recorded: [String: [Int]]?
    var expectedError: ExpectedError?
    var description: String { name }

    enum CodingKeys: String, CodingKey {
        case name, kind, files, feeds, layers, recorded
        case expectedError = "expected_error"
    }

    static let all: [GraphFixture] = {
        struct Manifest: Decodable { var models: [GraphFixture] }
        guard let data = try? Data(contentsOf: fixture("graphs/manifest.json")),
            let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
        else { return [] }
        return manifest.models
    }()

    /// The models that convert (every one but the error fixtures).
    static var convertible: [GraphFixture] { all.filter { $0.expectedError == nil } }

    /// The source `convert` is given: the checkpoint prefix (its `.meta` beside it), the frozen graph, the SavedModel.
    var source: String {
        fixture("graphs/" + (files["checkpoint"] ?? files["graph"] ?? files["saved_model"] ?? "")).path
    }

    var recording: String { fixture("graphs/\(name.hasPrefix("cnn") ? "cnn" : name)/recording.npz").path }

    /// The layer type of the fixture script's vocabulary, as the model file spells it.
    static func modelType(of layer: ParityModel.Layer) -> String {
        if let activation = layer.op as? ActivationLayer { return activation.activation.name }
        switch layer.op.typeName {
        case GlobalAveragePooling2D.typeName: return "mean"
        case MaxPooling2D.typeName: return "max_pool"
        case AveragePooling2D.typeName: return "avg_pool"
        case let name: return name
        }
    }
}

@Suite struct GraphImportTests {
    @Test func manifestHasTheFixtures() {
        #expect(GraphFixture.convertible.count == 9)
        #expect(GraphFixture.all.filter { $0.expectedError != nil }.count == 2)
    }

    /// With no spec: the layers, in order, named by the contract's rule, with the graph's epsilons.
    @Test(arguments: GraphFixture.convertible)
    func convertsWithTheExpectedLayers(_ model: GraphFixture) throws {
        let (plan, _) = try Converter.plan(source: model.source, spec: nil)
        let expected = try #require(model.layers)
        #expect(plan.layers.map(\.name) == expected.map(\.name))
        #expect(plan.layers.map(GraphFixture.modelType) == expected.map(\.type))
        for (layer, wanted) in zip(plan.layers, expected) {
            if let epsilon = wanted.epsilon {
                let batchNorm = try #require(layer.batchNormalization, "\(layer.name)")
                #expect(abs(batchNorm.epsilon - epsilon) <= 1e-12 * epsilon, "\(layer.name)")
            }
        }
    }

    /// Converted with no spec, the model passes verify against TensorFlow's own recording, every batch norm's
    /// `pre_bn` and `post_bn` compared under the expected name.
    @Test(arguments: GraphFixture.convertible)
    func passesVerifyAgainstTensorFlow(_ model: GraphFixture) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let output = directory.appendingPathComponent("model.safetensors").path
        _ = try Converter.convert(source: model.source, spec: nil, output: output)
        let report = try Verifier.verify(model: output, recording: model.recording)
        #expect(report.passed)
        for layer in try #require(model.layers) where layer.type == "batchnorm" {
            for stage in [Stage.preBN, .postBN] {
                let result = report.results.first { $0.layer == layer.name && $0.stage == stage }
                #expect(result?.passed == true, "\(layer.name) \(stage.rawValue)")
            }
        }
    }

    /// Provenance names the graph file with its digest, and the inputs, outputs and feeds used.
    @Test func provenanceRecordsTheGraph() throws {
        let model = try #require(GraphFixture.all.first { $0.name == "seed_cf1" })
        let (plan, _) = try Converter.plan(source: model.source, spec: nil)
        let graph = try #require(plan.provenance?.graph)
        #expect(graph.file == "model.ckpt.meta")
        #expect(graph.sha256 == (try Converter.sha256(ofFile: fixture("graphs/seed_cf1/model.ckpt.meta").path)))
        #expect(graph.inputs == ["x"])
        #expect(graph.outputs == ["add_2"])
        #expect(graph.feeds == ["phase_train=false"])
        #expect(plan.notes == ["the bool placeholder 'phase_train' is fed false (inference)"])
    }

    /// `--outputs`, `--inputs` and `--feed` give the same model as the defaults for the seed graph.
    @Test func explicitNamesGiveTheSameLayers() throws {
        let model = try #require(GraphFixture.all.first { $0.name == "seed_cf2" })
        let options = GraphImportOptions(
            inputs: ["x:0"], outputs: ["add_2"], feeds: [try #require(GraphFeed(parsing: "phase_train=false"))])
        let (plan, _) = try Converter.plan(source: model.source, spec: nil, graph: options)
        #expect(plan.layers.map(\.name) == model.layers?.map(\.name))
        #expect(plan.notes.isEmpty)
    }

    /// `inspect` shows the imported layers with their graph ops, and `--suggest-spec` writes a spec that converts the
    /// checkpoint alone to a model passing the same recording.
    @Test(arguments: ["seed_cf1", "cnn", "saved_model_module", "saved_model_keras3"])
    func suggestedSpecGivesTheSameModel(_ name: String) throws {
        let model = try #require(GraphFixture.all.first { $0.name == name })
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let report = try Inspector.inspect(path: model.source, spec: nil)
        #expect(report.layers.map(\.name) == model.layers?.map(\.name))
        #expect(report.graphOps.count == report.layers.count)
        let spec = directory.appendingPathComponent("spec.yaml").path
        try SpecSuggestion.write(for: report, to: spec)
        let output = directory.appendingPathComponent("model.safetensors").path
        _ = try Converter.convert(source: model.source, spec: spec, output: output)
        #expect(try Verifier.verify(model: output, recording: model.recording).passed)
    }

    struct Failure: Sendable, CustomStringConvertible {
        var description: String
        var source: String
        var options: GraphImportOptions
        var expected: GraphImportError
    }

    static let failures: [Failure] = [
        Failure(
            description: "an output that is no node", source: "graphs/seed_cf1/model.ckpt",
            options: GraphImportOptions(outputs: ["nope"]),
            expected: .noSuchNode(path: fixture("graphs/seed_cf1/model.ckpt.meta").path, node: "nope", role: .output)),
        Failure(
            description: "a signature that does not exist", source: "graphs/saved_model_module",
            options: GraphImportOptions(savedModel: SavedModelSelection(signature: "predict")),
            expected: .noSignature(
                path: fixture("graphs/saved_model_module/saved_model.pb").path, signature: "predict",
                available: ["serving_default"])),
        Failure(
            description: "a tag that does not exist", source: "graphs/saved_model_tf1",
            options: GraphImportOptions(savedModel: SavedModelSelection(tag: "train")),
            expected: .noTag(
                path: fixture("graphs/saved_model_tf1/saved_model.pb").path, tag: "train", available: ["serve"])),
    ]

    @Test(arguments: failures)
    func refusesWithAnErrorNamingTheCause(_ failure: Failure) throws {
        #expect(throws: failure.expected) {
            _ = try Converter.plan(source: fixture(failure.source).path, spec: nil, graph: failure.options)
        }
    }

    /// The feed flag's grammar.
    @Test(arguments: [
        ("phase_train=false", GraphFeed(name: "phase_train", value: .bool(false))),
        ("keep_prob:0 = 1.0", GraphFeed(name: "keep_prob", value: .number(1))),
        ("mode=2", GraphFeed(name: "mode", value: .integer(2))),
        ("noequals", nil), ("x=", nil), ("x=abc", nil), ("x=nan", nil),
    ])
    func parsesFeeds(_ text: String, _ expected: GraphFeed?) {
        #expect(GraphFeed(parsing: text) == expected)
    }
}
