import Foundation
import Importers
import ParityModel

/// The spec equivalent to a model read from a TensorFlow graph: each layer with its attributes and the checkpoint
/// tensors its parameters come from, so the same model converts from the checkpoint alone with `--spec`.
public enum GraphSpecSuggestion {
    /// Where a spec spells a model parameter differently (a batch norm's `mean` and `variance`).
    static let specSpelling: [String: [String: String]] = [
        BatchNormalization.typeName: ["moving_mean": "mean", "moving_variance": "variance"]
    ]

    /// The spec text; nil when a parameter has no name in the source (a frozen graph's constants).
    public static func spec(for plan: ModelPlan) -> String? {
        var lines = ["# The layers tfparity read from the graph, as a spec for the checkpoint alone.", "layers:"]
        var previous = Model.inputName
        for layer in plan.layers {
            var fields: [(String, String)] = [("type", layer.op.typeName), ("name", SpecSuggestion.quoted(layer.name))]
            if layer.inputs != [previous] {
                fields.append(("inputs", "[" + layer.inputs.map(SpecSuggestion.quoted).joined(separator: ", ") + "]"))
            }
            guard let data = try? JSONEncoder().encode(layer.op),
                let attributes = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return nil }
            // A spec reads a type that is also an activation's name (`softmax`) as that activation, with no attributes.
            let keys = Activation(name: layer.op.typeName) == nil ? attributes.keys.sorted() : []
            for key in keys {
                guard
                    let value = try? JSONSerialization.data(
                        withJSONObject: attributes[key] as Any, options: [.fragmentsAllowed, .sortedKeys]),
                    let text = String(data: value, encoding: .utf8)
                else { return nil }
                fields.append((key, text))
            }
            for slot in layer.op.parameters where plan.parameters["\(layer.name)/\(slot.name)"] != nil {
                guard let source = plan.parameterSources["\(layer.name)/\(slot.name)"] else { return nil }
                let key = specSpelling[layer.op.typeName]?[slot.name] ?? slot.name
                fields.append((key, SpecSuggestion.quoted(source)))
            }
            lines.append("  - {" + fields.map { "\($0): \($1)" }.joined(separator: ", ") + "}")
            previous = layer.name
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
