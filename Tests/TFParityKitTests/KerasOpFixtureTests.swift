import Foundation
import NumPyFormat
import ParityModel
import TensorCore
import TestSupport
import Testing

@testable import Importers

/// Every op fixture of `Fixtures/ops/manifest.json` whose Keras class tfparity maps: the class's own config, as
/// Keras wrote it (both flavours), goes through its mapping file, and the operation reproduces what Keras computed.
@Suite struct KerasOpFixtureTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var className: String
        var flavour: String
        var configJSON: String
        /// The parameters the NPZ holds, by model name (`mean`, `gamma`, …).
        var parameters: [String]
        /// How many variables the Keras layer has (`count` of Normalization among them, which the NPZ leaves out).
        var kerasVariableCount: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        guard let data = try? Data(contentsOf: fixture("ops/manifest.json")),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let entries = root["cases"] as? [[String: Any]]
        else { return [] }
        return entries.compactMap { entry in
            guard let name = entry["case"] as? String, let className = entry["class_name"] as? String,
                let config = entry["config"], let json = try? JSONSerialization.data(withJSONObject: config)
            else { return nil }
            return Case(
                name: name, className: className, flavour: entry["flavour"] as? String ?? "keras3",
                configJSON: String(decoding: json, as: UTF8.self),
                parameters: ((entry["parameters"] as? [String: Any]) ?? [:]).keys.sorted(),
                kerasVariableCount: (entry["keras_variables"] as? [Any])?.count ?? 0)
        }
    }()

    /// The cases whose config the mapping refuses, and a phrase of the reason: anything else must convert.
    static let refusedOnPurpose: [String: String] = [
        // Keras stores `Activation(lambda t: gelu(t, approximate=True))` as Python bytecode.
        "activation_gelu_approximate": "a Python function",
        "activation_gelu_approximate_keras2": "a Python function",
    ]

    static var mapped: [Case] { cases.filter { KerasLayerRegistry.mapping(forClass: $0.className) != nil } }

    @Test func manifestListsMappedClasses() {
        #expect(Self.cases.count > 20)
        #expect(Self.mapped.contains { $0.name == "cropping2d_asymmetric_keras2" })
        #expect(Self.mapped.contains { $0.name == "cropping2d_tuple" })
        // Every class the fixtures cover has its mapping file.
        #expect(Self.cases.filter { KerasLayerRegistry.mapping(forClass: $0.className) == nil }.map(\.name) == [])
    }

    @Test func lambdaIsRefusedByName() {
        let reason = KerasLayerRegistry.refusal(forClass: "Lambda", layer: "lambda_1")
        #expect(reason.contains("Lambda") && reason.contains("'lambda_1'") && reason.contains("Python"))
    }

    @Test(arguments: mapped)
    func mappedLayerMatchesKeras(_ c: Case) throws {
        let config = try #require(
            try JSONSerialization.jsonObject(with: Data(c.configJSON.utf8)) as? [String: Any])
        let entry = KerasConfig.LayerEntry(name: "layer", className: c.className, config: config, inbound: ["input"])
        let mapped: KerasMapped
        do {
            mapped = try KerasLayerRegistry.mapping(forClass: c.className)!.map(
                KerasLayer(entry: entry, path: "manifest.json", isKeras2: c.flavour == "keras2"))
        } catch let error as FileError {
            // A configuration the class's mapping does not support yet (issue 14's list) is refused by name, never
            // converted into something else.
            #expect(error.member == "layer" && error.reason.contains("not supported"), "\(error)")
            let phrase = try #require(Self.refusedOnPurpose[c.name], "refused: \(error)")
            #expect(error.reason.contains(phrase), "\(error)")
            return
        }
        let archive = try NPZArchive(path: fixture("ops/\(c.name).npz").path)
        let inputNames = archive.names.filter { $0 == "input" || $0.hasPrefix("input_") }.sorted()
        // The mapping names every variable the weight file lists, in order; the NPZ holds those the op computes with.
        #expect(mapped.variables.count == c.kerasVariableCount, "variables \(mapped.variables)")
        #expect(Set(c.parameters).isSubset(of: mapped.variables), "variables \(mapped.variables)")
        var parameters: [String: Tensor] = [:]
        for name in mapped.variables where c.parameters.contains(name) {
            parameters["layer/\(name)"] = try archive.tensor(named: name)
        }
        let layer = Layer(name: "layer", op: mapped.op, inputs: inputNames)
        var model = Model(layers: [layer], parameters: parameters)
        model.inputNames = inputNames
        let inputs = try inputNames.map { name in
            let tensor = try archive.tensor(named: name)
            return FloatTensor(shape: tensor.shape, values: tensor.floatValues())
        }
        let y = try Engine(model: model, matrixProduct: .portable).apply(layer, to: inputs)
        let expected = try archive.tensor(named: "output")
        #expect(y.shape == expected.shape)
        expectClose(y.values, expected.floatValues(), atol: 1e-5, rtol: 1e-5)
    }
}
