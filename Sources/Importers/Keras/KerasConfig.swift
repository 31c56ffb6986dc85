import Foundation
import ParityModel
import TensorCore

/// A Keras model's architecture as its config JSON describes it (`model_config`, `config.json`, `model.to_json()`):
/// Sequential or Functional, in the Keras 2 (tf.keras / tf_keras) or Keras 3 spelling.
struct KerasConfig {
    /// One layer of the config, with the layers feeding it.
    struct LayerEntry {
        var name: String
        var className: String
        var config: [String: Any]
        /// The layers whose outputs this one consumes, in argument order (InputLayer names included).
        var inbound: [String]
    }

    /// The file the config came from, for errors.
    var path: String
    var modelClass: String
    /// Every layer in config order (topological in both Keras versions), InputLayers included.
    var layers: [LayerEntry]
    /// The InputLayer feeding the model (nil for a Keras 2 Sequential without one).
    var inputLayer: String?
    /// The layer whose output is the model's output.
    var outputLayer: String
    /// True for Keras 2 (tf.keras / tf_keras), whose `hard_sigmoid` and defaults differ from Keras 3's.
    var isKeras2: Bool

    /// Parses config JSON text; `path` names its file in errors.
    static func parse(_ data: [UInt8], path: String, isKeras2: Bool) throws -> KerasConfig {
        // Before JSONSerialization builds anything: size, nesting and layer count (a 10^6-layer config is refused
        // here in milliseconds instead of building a 6 GB graph).
        try DocumentLimits.kerasConfig.checkJSON(data, path: path)
        let document: Any
        do {
            document = try JSONSerialization.jsonObject(with: Data(data), options: [.fragmentsAllowed])
        } catch {
            throw FileError(path: path, reason: "the Keras model config is not valid JSON")
        }
        guard let root = document as? [String: Any], let className = root["class_name"] as? String else {
            throw FileError(path: path, reason: "the Keras model config has no 'class_name' at the top")
        }
        func fail(_ reason: String) -> FileError { FileError(path: path, reason: reason) }
        let config = root["config"]
        switch className {
        case "Sequential":
            // Keras 2 before 2.3 wrote the layer list as the config itself.
            let rawLayers = (config as? [String: Any])?["layers"] ?? config
            guard let list = rawLayers as? [[String: Any]] else { throw fail("the Sequential config has no 'layers'") }
            var layers: [LayerEntry] = []
            var previous: String?
            var inputLayer: String?
            for raw in list {
                let entry = try layerEntry(raw, path: path, inbound: [])
                if entry.className == "InputLayer" {
                    guard layers.isEmpty else {
                        throw FileError(path: path, member: entry.name, reason: "an InputLayer after other layers")
                    }
                    inputLayer = entry.name
                    previous = entry.name
                    layers.append(entry)
                    continue
                }
                var chained = entry
                chained.inbound = [previous ?? Model.inputName]
                layers.append(chained)
                previous = entry.name
            }
            guard let last = layers.last, last.className != "InputLayer" else {
                throw fail("the Sequential model has no layers")
            }
            return KerasConfig(
                path: path, modelClass: className, layers: layers, inputLayer: inputLayer, outputLayer: last.name,
                isKeras2: isKeras2)
        case "Functional", "Model":
            guard let config = config as? [String: Any], let list = config["layers"] as? [[String: Any]] else {
                throw fail("the \(className) config has no 'layers'")
            }
            var layers: [LayerEntry] = []
            for raw in list {
                let name = raw["name"] as? String ?? (raw["config"] as? [String: Any])?["name"] as? String ?? "?"
                let inbound = try inboundLayers(raw["inbound_nodes"], path: path, layer: name)
                layers.append(try layerEntry(raw, path: path, inbound: inbound))
            }
            let inputs = try endpoints(config["input_layers"], path: path, key: "input_layers")
            let outputs = try endpoints(config["output_layers"], path: path, key: "output_layers")
            guard inputs.count == 1 else {
                throw fail("the model has \(inputs.count) inputs; tfparity runs models with exactly one input")
            }
            guard outputs.count == 1, let output = outputs.first else {
                throw fail("the model has \(outputs.count) outputs; tfparity runs models with exactly one output")
            }
            return KerasConfig(
                path: path, modelClass: className, layers: layers, inputLayer: inputs.first, outputLayer: output,
                isKeras2: isKeras2)
        default:
            throw fail(
                "the model class '\(className)' is not Sequential or Functional (a subclassed model has no config "
                    + "tfparity can read)")
        }
    }

    private static func layerEntry(_ raw: [String: Any], path: String, inbound: [String]) throws -> LayerEntry {
        guard let className = raw["class_name"] as? String, let config = raw["config"] as? [String: Any] else {
            throw FileError(path: path, reason: "a layer entry of the model config has no 'class_name' or 'config'")
        }
        guard let name = (raw["name"] as? String) ?? (config["name"] as? String) else {
            throw FileError(path: path, reason: "a \(className) layer of the model config has no name")
        }
        return LayerEntry(name: name, className: className, config: config, inbound: inbound)
    }

    /// `inbound_nodes` as layer names: Keras 2 `[[["name", 0, 0, {}], …]]`, Keras 3 `[{"args": […keras_history…]}]`.
    private static func inboundLayers(_ raw: Any?, path: String, layer: String) throws -> [String] {
        guard let nodes = raw as? [Any], !nodes.isEmpty else { return [] }
        guard nodes.count == 1, let node = nodes.first else {
            throw FileError(
                path: path, member: layer,
                reason: "the layer is called \(nodes.count) times (a shared layer); tfparity needs one call per layer")
        }
        var history: [[Any]] = []
        if let keras3 = node as? [String: Any] {
            collectHistory(keras3["args"] as Any, into: &history)
        } else if let keras2 = node as? [Any] {
            for tensor in keras2 {
                if let reference = tensor as? [Any] { history.append(reference) }
            }
        }
        return try history.map { reference in
            guard let name = reference.first as? String else {
                throw FileError(path: path, member: layer, reason: "an inbound tensor has no layer name")
            }
            let tensorIndex = reference.count > 2 ? ImportersJSON.integer(reference[2]) : 0
            guard tensorIndex == 0 else {
                throw FileError(
                    path: path, member: layer,
                    reason: "takes output \(tensorIndex.map(String.init) ?? "?") of '\(name)'; layers with several "
                        + "outputs are not supported")
            }
            return name
        }
    }

    /// Every `keras_history` in a Keras 3 node's `args`, depth first (a merge layer's list of tensors in order).
    private static func collectHistory(_ value: Any, into history: inout [[Any]]) {
        if let dictionary = value as? [String: Any] {
            if let config = dictionary["config"] as? [String: Any], let reference = config["keras_history"] as? [Any] {
                history.append(reference)
            } else {
                for key in dictionary.keys.sorted() { collectHistory(dictionary[key] as Any, into: &history) }
            }
        } else if let list = value as? [Any] {
            for item in list { collectHistory(item, into: &history) }
        }
    }

    /// `input_layers` / `output_layers`: `["name", 0, 0]` (Keras 3, one) or `[["name", 0, 0], …]`.
    private static func endpoints(_ raw: Any?, path: String, key: String) throws -> [String] {
        guard let list = raw as? [Any] else { throw FileError(path: path, reason: "the model config has no '\(key)'") }
        if let name = list.first as? String { return [name] }
        return try list.map { item in
            guard let reference = item as? [Any], let name = reference.first as? String else {
                throw FileError(path: path, reason: "the model config's '\(key)' is malformed")
            }
            return name
        }
    }
}

/// Numbers from JSON, converted without trapping.
enum ImportersJSON {
    /// An integer from a JSON number (`3`, `3.0`), nil otherwise (fractions, 1e300, inf).
    static func integer(_ value: Any?) -> Int? {
        if let value = value as? Int { return value }
        if let value = value as? Double { return Int(exactly: value) }
        return nil
    }

    /// A finite number from JSON, nil otherwise.
    static func number(_ value: Any?) -> Double? {
        if let value = value as? Double { return value.isFinite ? value : nil }
        if let value = value as? Int { return Double(value) }
        return nil
    }
}
