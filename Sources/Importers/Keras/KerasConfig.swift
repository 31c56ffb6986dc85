import Foundation
import ParityModel
import TensorCore

/// A Keras model's architecture as its config JSON describes it (`model_config`, `config.json`, `model.to_json()`):
/// Sequential or Functional, in the Keras 2 (tf.keras / tf_keras) or Keras 3 spelling, flattened into one graph.
///
/// A Functional or Sequential model used as a layer (a nested model) is expanded where it is called: its layers are
/// named `<nested model>/<layer>` (`base/conv1`, two levels down `head/block/bn`), and the nested model's name itself
/// names an identity layer carrying its output, as the outer Keras graph names that tensor. A nested model called a
/// second time is expanded again under `<nested model>_1` (then `_2`, …, skipping names the enclosing model uses),
/// sharing the first call's weights — the name TensorFlow's name scopes give the second call.
struct KerasConfig {
    /// One layer of the flattened graph, with the layers feeding it.
    struct LayerEntry {
        /// The name in the converted model: the Keras name, prefixed by the nested models it sits in.
        var name: String
        var className: String
        /// Keras 3's `module` (`keras.layers`, `keras.src.ops.numpy`), when the config gives it.
        var module: String? = nil
        var config: [String: Any]
        /// The layers (or model inputs) whose outputs the call reads: one per tensor of `call`, in its order.
        var inbound: [String]
        /// The call's arguments, as `inbound_nodes` records them.
        var call = KerasCall()
        /// The Keras names from the outermost nested model down to the layer: where its weights are stored.
        var weightPath: [String] = []
        /// True for the identity layer standing for a nested model call's output.
        var isNestedModelOutput = false
    }

    /// The file the config came from, for errors.
    var path: String
    var modelClass: String
    /// Every layer of the flattened graph in a topological order (config order, nested models expanded where they
    /// are called); no InputLayers.
    var layers: [LayerEntry]
    /// The names layers read the model's inputs by: `input` for one input, `input/<input layer>` for several.
    var inputNames: [String]
    /// The layers whose outputs the model returns, in order.
    var outputs: [String]
    /// True for Keras 2 (tf.keras / tf_keras), whose `hard_sigmoid` and defaults differ from Keras 3's.
    var isKeras2: Bool
    /// Each model's own layers (name, class) in config order, keyed by the nested-model path from the top (`""`,
    /// `"head"`, `"head/block"`): how Keras 3 names weight groups when the file does not say.
    var scopes: [String: [(name: String, className: String)]]

    /// The deepest nesting of models inside models tfparity expands.
    static let maximumNesting = 32
    /// The most layers a flattened graph may hold (a nested model called twice at every level doubles them).
    static let maximumLayers = 1 << 20

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
        var flattener = KerasGraphFlattener(path: path, isKeras2: isKeras2)
        let graph = try flattener.graph(of: root, className: className, name: nil)
        return try flattener.flatten(graph, modelClass: className)
    }
}

/// A tensor a layer call reads: output `index` of call `node` of layer `layer` (Keras' `keras_history`).
struct KerasTensorReference: Equatable {
    var layer: String
    var node: Int
    var index: Int
}

/// A call argument that is a tensor: its position in `KerasCall.tensors`.
struct KerasTensorArgument {
    var position: Int
}

/// One call of a layer, as `inbound_nodes` records it: positional and keyword arguments, each tensor replaced by a
/// `KerasTensorArgument` and constants left as JSON values, and the tensors in argument order (positional depth first,
/// then keywords by name).
///
/// tf_keras records every argument after the first as a keyword (named by the function's own parameter names);
/// Keras 3 keeps positional arguments positional.
struct KerasCall {
    var positional: [Any] = []
    var keyword: [String: Any] = [:]
    var tensors: [KerasTensorReference] = []
    /// How many of `tensors` are positional arguments (the rest are keywords').
    var positionalTensorCount = 0

    /// The argument at `position`, or else the keyword `name`: how both Keras versions' records of `f(x, y)` read.
    func argument(_ position: Int, _ name: String) -> Any? {
        position < positional.count ? positional[position] : keyword[name]
    }

    /// The deepest nesting of lists and objects an argument may have.
    static let maximumDepth = 32

    /// A Keras 3 node: `{"args": [...], "kwargs": {...}}`, tensors as `{"class_name": "__keras_tensor__", "config":
    /// {"keras_history": [layer, node, index]}}`.
    static func keras3(_ node: [String: Any]) throws(KerasCallError) -> KerasCall {
        var call = KerasCall()
        let args = node["args"] as? [Any] ?? []
        call.positional = try args.map { value throws(KerasCallError) in try call.keras3Value(value, depth: 0) }
        call.positionalTensorCount = call.tensors.count
        let kwargs = node["kwargs"] as? [String: Any] ?? [:]
        for key in kwargs.keys.sorted() {
            call.keyword[key] = try call.keras3Value(kwargs[key] as Any, depth: 0)
        }
        return call
    }

    private mutating func keras3Value(_ value: Any, depth: Int) throws(KerasCallError) -> Any {
        guard depth < Self.maximumDepth else { throw .tooDeep }
        if let object = value as? [String: Any] {
            if object["class_name"] as? String == "__keras_tensor__" {
                guard let config = object["config"] as? [String: Any],
                    let history = config["keras_history"] as? [Any]
                else { throw .malformedTensor }
                return try tensor(history)
            }
            var converted: [String: Any] = [:]
            for key in object.keys.sorted() { converted[key] = try keras3Value(object[key] as Any, depth: depth + 1) }
            return converted
        }
        if let list = value as? [Any] {
            return try list.map { item throws(KerasCallError) in try keras3Value(item, depth: depth + 1) }
        }
        return value
    }

    /// A Keras 2 node: a list of references `[[layer, node, index, kwargs], …]` (a layer of one input, or a merge
    /// layer's list), or — for TFOpLambda and SlicingOpLambda, which keep their first argument's structure — one
    /// reference `[layer, node, index, kwargs]`; a constant first argument is `["_CONSTANT_VALUE", -1, value, kwargs]`.
    /// The kwargs hold the other arguments, tensors among them as `[layer, node, index]`.
    static func keras2(_ node: [Any]) throws(KerasCallError) -> KerasCall {
        var call = KerasCall()
        var kwargs: [String: Any]?
        if node.first is String {
            call.positional = [try call.keras2Reference(node, kwargs: &kwargs)]
        } else {
            var list: [Any] = []
            for item in node {
                guard let reference = item as? [Any] else { throw .malformedTensor }
                list.append(try call.keras2Reference(reference, kwargs: &kwargs))
            }
            call.positional = [list.count == 1 ? list[0] : list]
        }
        call.positionalTensorCount = call.tensors.count
        for key in (kwargs ?? [:]).keys.sorted() {
            call.keyword[key] = try call.keras2Value(kwargs?[key] as Any, depth: 0)
        }
        return call
    }

    private mutating func keras2Reference(_ reference: [Any], kwargs: inout [String: Any]?) throws(KerasCallError)
        -> Any
    {
        guard let layer = reference.first as? String else { throw .malformedTensor }
        if kwargs == nil, reference.count > 3 { kwargs = reference[3] as? [String: Any] }
        if layer == "_CONSTANT_VALUE" {
            guard reference.count > 2 else { throw .malformedTensor }
            return try keras2Value(reference[2], depth: 0)
        }
        return try tensor(Array(reference.prefix(3)))
    }

    private mutating func keras2Value(_ value: Any, depth: Int) throws(KerasCallError) -> Any {
        guard depth < Self.maximumDepth else { throw .tooDeep }
        if let list = value as? [Any] {
            // A tensor among the keyword arguments: `[layer, node, index]`.
            if list.count == 3, list[0] is String, ImportersJSON.integer(list[1]) != nil,
                ImportersJSON.integer(list[2]) != nil
            {
                return try tensor(list)
            }
            return try list.map { item throws(KerasCallError) in try keras2Value(item, depth: depth + 1) }
        }
        if let object = value as? [String: Any] {
            var converted: [String: Any] = [:]
            for key in object.keys.sorted() { converted[key] = try keras2Value(object[key] as Any, depth: depth + 1) }
            return converted
        }
        return value
    }

    private mutating func tensor(_ history: [Any]) throws(KerasCallError) -> KerasTensorArgument {
        guard let layer = history.first as? String else { throw .malformedTensor }
        let node = history.count > 1 ? ImportersJSON.integer(history[1]) : 0
        let index = history.count > 2 ? ImportersJSON.integer(history[2]) : 0
        guard let node, let index, node >= 0, index >= 0 else { throw .malformedTensor }
        tensors.append(KerasTensorReference(layer: layer, node: node, index: index))
        return KerasTensorArgument(position: tensors.count - 1)
    }
}

/// Why a call record cannot be read.
enum KerasCallError: Error {
    case malformedTensor
    case tooDeep

    var reason: String {
        switch self {
        case .malformedTensor: "an inbound tensor reference is malformed (expected [layer, node, index])"
        case .tooDeep: "a call argument is nested more than \(KerasCall.maximumDepth) levels deep"
        }
    }
}

/// One model's own graph (top level or nested), before flattening.
struct KerasModelGraph {
    struct Entry {
        var name: String
        var className: String
        var module: String?
        var config: [String: Any]
        /// One per call (inbound node).
        var calls: [KerasCall]
        /// The entry itself, for a nested model (parsed when it is called).
        var raw: [String: Any]
        var isModel: Bool { KerasGraphFlattener.modelClasses.contains(className) }
    }

    var className: String
    var layers: [Entry]
    /// The names the model's inputs are referred to by (its InputLayers, in `input_layers` order).
    var inputs: [String]
    var outputs: [KerasTensorReference]

    /// The nested models among the layers whose calls Keras 2 numbers from 1: those built on an InputLayer, whose
    /// node 0 links the model's own input to its output and is not saved.
    var keras2SkippedFirstNodes: Set<String> {
        Set(
            layers.filter { entry in
                guard entry.isModel else { return false }
                let config = entry.raw["config"]
                let list = ((config as? [String: Any])?["layers"] ?? config) as? [[String: Any]]
                return list?.first?["class_name"] as? String == "InputLayer"
            }.map(\.name))
    }
}

/// Turns a config's model, and the models nested in it, into one `KerasConfig` graph: iteratively, with a bounded
/// stack of the models being expanded.
struct KerasGraphFlattener {
    static let modelClasses: Set<String> = ["Sequential", "Functional", "Model"]
    /// The input name of a Sequential model without an InputLayer (a name Keras never gives a layer).
    static let sequentialInput = "<sequential input>"

    var path: String
    var isKeras2: Bool
    var scopes: [String: [(name: String, className: String)]] = [:]

    init(path: String, isKeras2: Bool) {
        self.path = path
        self.isKeras2 = isKeras2
    }

    func fail(_ member: String?, _ reason: String) -> FileError {
        FileError(path: path, member: member, reason: reason)
    }

    /// The graph of model `raw` (an entry with `class_name` and `config`); `name` is its name as a nested layer.
    func graph(of raw: [String: Any], className: String, name: String?) throws -> KerasModelGraph {
        let config = raw["config"]
        func failModel(_ reason: String) -> FileError {
            fail(name, name == nil ? reason : "the nested \(className) model: \(reason)")
        }
        switch className {
        case "Sequential":
            // Keras 2 before 2.3 wrote the layer list as the config itself.
            let rawLayers = (config as? [String: Any])?["layers"] ?? config
            guard let list = rawLayers as? [[String: Any]] else {
                throw failModel("the Sequential config has no 'layers'")
            }
            var layers: [KerasModelGraph.Entry] = []
            var previous: String?
            var input = Self.sequentialInput
            for item in list {
                var entry = try self.entry(item)
                if entry.className == "InputLayer" {
                    guard layers.isEmpty else { throw fail(entry.name, "an InputLayer after other layers") }
                    input = entry.name
                    previous = entry.name
                    layers.append(entry)
                    continue
                }
                let reference = KerasTensorReference(layer: previous ?? input, node: 0, index: 0)
                entry.calls = [
                    KerasCall(
                        positional: [KerasTensorArgument(position: 0)], tensors: [reference], positionalTensorCount: 1)
                ]
                layers.append(entry)
                previous = entry.name
            }
            guard let last = layers.last, last.className != "InputLayer" else {
                throw failModel(name == nil ? "the Sequential model has no layers" : "it has no layers")
            }
            return KerasModelGraph(
                className: className, layers: layers, inputs: [input],
                outputs: [KerasTensorReference(layer: last.name, node: 0, index: 0)])
        case "Functional", "Model":
            guard let config = config as? [String: Any], let list = config["layers"] as? [[String: Any]] else {
                throw failModel("the \(className) config has no 'layers'")
            }
            var layers: [KerasModelGraph.Entry] = []
            for item in list {
                var entry = try self.entry(item)
                entry.calls = try calls(item["inbound_nodes"], layer: entry.name)
                layers.append(entry)
            }
            let inputs = try endpoints(config["input_layers"], key: "input_layers", model: name).map(\.layer)
            let outputs = try endpoints(config["output_layers"], key: "output_layers", model: name)
            guard !inputs.isEmpty else { throw failModel("the model has no inputs") }
            guard !outputs.isEmpty else { throw failModel("the model has no outputs") }
            return KerasModelGraph(className: className, layers: layers, inputs: inputs, outputs: outputs)
        default:
            throw fail(
                name,
                "the model class '\(className)' is not Sequential or Functional (a subclassed model has no config "
                    + "tfparity can read)")
        }
    }

    private func entry(_ raw: [String: Any]) throws -> KerasModelGraph.Entry {
        guard let className = raw["class_name"] as? String, let config = raw["config"] as? [String: Any] else {
            throw fail(nil, "a layer entry of the model config has no 'class_name' or 'config'")
        }
        guard let name = (raw["name"] as? String) ?? (config["name"] as? String) else {
            throw fail(nil, "a \(className) layer of the model config has no name")
        }
        return KerasModelGraph.Entry(
            name: name, className: className, module: raw["module"] as? String, config: config, calls: [], raw: raw)
    }

    /// `inbound_nodes`, one call per node: Keras 2 lists, Keras 3 `{"args", "kwargs"}` objects.
    private func calls(_ raw: Any?, layer: String) throws -> [KerasCall] {
        guard let nodes = raw as? [Any] else { return [] }
        do throws(KerasCallError) {
            return try nodes.map { node throws(KerasCallError) in
                if let keras3 = node as? [String: Any] { return try KerasCall.keras3(keras3) }
                guard let keras2 = node as? [Any] else { throw .malformedTensor }
                return try KerasCall.keras2(keras2)
            }
        } catch {
            throw fail(layer, error.reason)
        }
    }

    /// `input_layers` / `output_layers`: `["name", 0, 0]` (Keras 3, one) or `[["name", 0, 0], …]`.
    private func endpoints(_ raw: Any?, key: String, model: String?) throws -> [KerasTensorReference] {
        guard let list = raw as? [Any] else { throw fail(model, "the model config has no '\(key)'") }
        let references = list.first is String ? [list] : list
        return try references.map { item in
            guard let reference = item as? [Any], let name = reference.first as? String else {
                throw fail(model, "the model config's '\(key)' is malformed")
            }
            let node = reference.count > 1 ? ImportersJSON.integer(reference[1]) : 0
            let index = reference.count > 2 ? ImportersJSON.integer(reference[2]) : 0
            guard let node, let index, node >= 0, index >= 0 else {
                throw fail(model, "the model config's '\(key)' is malformed")
            }
            return KerasTensorReference(layer: name, node: node, index: index)
        }
    }

    /// One model being expanded: its graph, where its names go, what its layers have produced so far.
    private struct Frame {
        var graph: KerasModelGraph
        /// `""` at the top, `head/block/` two levels down.
        var prefix: String
        /// The Keras names of the nested models from the top.
        var weightPath: [String]
        /// Input name → the flattened name of the tensor fed to it.
        var bindings: [String: String]
        /// Layer name → per call, its outputs' flattened names.
        var produced: [String: [[String]]] = [:]
        /// The layer being expanded, and for a nested model the call to expand next.
        var cursor = 0
        var call = 0
        /// The flattened name of the nested model call being expanded, awaiting its outputs.
        var pending: String?
        /// Layer names of this model, for choosing the name of a nested model's second call.
        var names: Set<String>
        /// Nested models whose node indices are offset by one (`KerasModelGraph.keras2SkippedFirstNodes`).
        var skippedFirstNodes: Set<String>

        init(graph: KerasModelGraph, prefix: String, weightPath: [String], bindings: [String: String], isKeras2: Bool) {
            self.graph = graph
            self.prefix = prefix
            self.weightPath = weightPath
            self.bindings = bindings
            names = Set(graph.layers.map(\.name))
            // A Sequential's references are its own chain, one call each.
            skippedFirstNodes = isKeras2 && graph.className != "Sequential" ? graph.keras2SkippedFirstNodes : []
        }
    }

    /// The flattened graph of `root`.
    mutating func flatten(_ root: KerasModelGraph, modelClass: String) throws -> KerasConfig {
        let inputNames =
            root.inputs.count == 1 ? [Model.inputName] : root.inputs.map { "\(Model.inputName)/\($0)" }
        var bindings: [String: String] = [:]
        for (input, name) in zip(root.inputs, inputNames) {
            guard bindings.updateValue(name, forKey: input) == nil else {
                throw fail(input, "the input layer is listed twice in 'input_layers'")
            }
        }
        var frames = [Frame(graph: root, prefix: "", weightPath: [], bindings: bindings, isKeras2: isKeras2)]
        scopes[""] = root.layers.map { ($0.name, $0.className) }
        var layers: [KerasConfig.LayerEntry] = []
        var emitted = Set(inputNames)
        var finished: [String]?
        var outputs: [String] = []

        func emit(_ entry: KerasConfig.LayerEntry) throws {
            guard emitted.insert(entry.name).inserted else {
                throw fail(entry.name, "two layers of the flattened model have this name")
            }
            guard layers.count < KerasConfig.maximumLayers else {
                throw fail(
                    entry.name,
                    "the model has more than \(KerasConfig.maximumLayers) layers with nested models expanded")
            }
            layers.append(entry)
        }

        while let top = frames.indices.last {
            if let results = finished {
                // A nested model call has been expanded: its name stands for its output.
                finished = nil
                guard let name = frames[top].pending else {
                    preconditionFailure("a finished nested model nobody called")
                }
                frames[top].pending = nil
                let layer = frames[top].graph.layers[frames[top].cursor]
                var produced = results
                if results.count == 1 {
                    try emit(
                        KerasConfig.LayerEntry(
                            name: name, className: layer.className, module: layer.module, config: [:],
                            inbound: results, call: KerasCall(), weightPath: frames[top].weightPath + [layer.name],
                            isNestedModelOutput: true))
                    produced = [name]
                }
                frames[top].produced[layer.name, default: []].append(produced)
                continue
            }
            let frame = frames[top]
            guard frame.cursor < frame.graph.layers.count else {
                let results = try frame.graph.outputs.map { try resolve($0, in: frame, consumer: nil) }
                frames.removeLast()
                if frames.isEmpty { outputs = results } else { finished = results }
                continue
            }
            let layer = frame.graph.layers[frame.cursor]
            let member = frame.prefix + layer.name
            if layer.className == "InputLayer" {
                frames[top].cursor += 1
                continue
            }
            if layer.isModel {
                guard frame.call < layer.calls.count else {
                    frames[top].cursor += 1
                    frames[top].call = 0
                    continue
                }
                let call = layer.calls[frame.call]
                let arguments = try call.tensors.map { try resolve($0, in: frame, consumer: member) }
                let inner = try graph(of: layer.raw, className: layer.className, name: member)
                guard inner.inputs.count == arguments.count else {
                    throw fail(
                        member,
                        "the nested model takes \(inner.inputs.count) inputs and is called with \(arguments.count)")
                }
                var name = member
                if frame.call > 0 {
                    // The second call's scope, as TensorFlow names it: `proj_1`, unless the model has such a layer.
                    var suffix = frame.call
                    while frame.names.contains("\(layer.name)_\(suffix)") || emitted.contains("\(member)_\(suffix)") {
                        suffix += 1
                    }
                    name = "\(member)_\(suffix)"
                }
                guard frames.count <= KerasConfig.maximumNesting else {
                    throw fail(member, "models are nested more than \(KerasConfig.maximumNesting) levels deep")
                }
                let weightPath = frame.weightPath + [layer.name]
                let scope = weightPath.joined(separator: "/")
                if scopes[scope] == nil { scopes[scope] = inner.layers.map { ($0.name, $0.className) } }
                frames[top].pending = name
                frames[top].call += 1
                var bindings: [String: String] = [:]
                for (input, argument) in zip(inner.inputs, arguments) { bindings[input] = argument }
                frames.append(
                    Frame(
                        graph: inner, prefix: name + "/", weightPath: weightPath, bindings: bindings, isKeras2: isKeras2
                    ))
                continue
            }
            frames[top].cursor += 1
            guard let call = layer.calls.first else {
                // A layer the model holds but never calls.
                continue
            }
            guard layer.calls.count == 1 else {
                throw fail(
                    member,
                    "the layer is called \(layer.calls.count) times (a shared layer); tfparity needs one call per "
                        + "layer (a nested model may be called several times)")
            }
            let inbound = try call.tensors.map { try resolve($0, in: frame, consumer: member) }
            try emit(
                KerasConfig.LayerEntry(
                    name: member, className: layer.className, module: layer.module, config: layer.config,
                    inbound: inbound, call: call, weightPath: frame.weightPath + [layer.name]))
            frames[top].produced[layer.name] = [[member]]
        }
        return KerasConfig(
            path: path, modelClass: modelClass, layers: layers, inputNames: inputNames, outputs: outputs,
            isKeras2: isKeras2, scopes: scopes)
    }

    /// The flattened name of the tensor `reference` names inside `frame`'s model.
    private func resolve(_ reference: KerasTensorReference, in frame: Frame, consumer: String?) throws -> String {
        let member = consumer ?? (frame.prefix.isEmpty ? reference.layer : String(frame.prefix.dropLast()))
        if let bound = frame.bindings[reference.layer] {
            guard reference.index == 0 else {
                throw fail(member, "takes output \(reference.index) of the input '\(reference.layer)'")
            }
            return bound
        }
        guard let calls = frame.produced[reference.layer] else {
            throw fail(
                member,
                "its input '\(frame.prefix)\(reference.layer)' is not a layer that comes earlier in the config")
        }
        let node = frame.skippedFirstNodes.contains(reference.layer) ? reference.node - 1 : reference.node
        guard calls.indices.contains(node) else {
            throw fail(member, "takes call \(reference.node) of '\(reference.layer)', which has \(calls.count)")
        }
        let outputs = calls[node]
        guard outputs.indices.contains(reference.index) else {
            throw fail(
                member,
                "takes output \(reference.index) of '\(reference.layer)', which has \(outputs.count); layers with "
                    + "several outputs other than nested models are not supported")
        }
        return outputs[reference.index]
    }
}

/// Numbers from JSON, converted without trapping.
enum ImportersJSON {
    /// An integer from a JSON number (`3`, `3.0`), nil otherwise (fractions, 1e300, inf, booleans).
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
