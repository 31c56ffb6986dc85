import Foundation
import HDF5Kit
import NumPyFormat
import ParityModel
import TensorCore

/// A Keras model file's weights, layer by layer, in each layer's variable order.
protocol KerasWeightStore {
    /// The file as the user named it.
    var path: String { get }
    /// The variables of the layer at `path` (its Keras name, after the names of the nested models holding it:
    /// `["head", "block", "conv"]`) in the order the layer created them, described but not yet read; empty for a
    /// layer without any.
    func variables(ofLayer path: [String]) throws -> [(name: String, tensor: PendingTensor)]
}

/// Legacy `.h5` (`model.save("m.h5")`, Keras 2 and 3): `model_weights/<layer>` lists its variables in the attribute
/// `weight_names`, each a dataset path below that group (`<layer>/kernel:0`, `<model>/<layer>/kernel`). A nested
/// model's group lists the variables of every layer inside it, at any depth (`conv1/kernel:0`, `bn1/gamma:0`, …):
/// a layer's are those whose name ends in `<layer>/<variable>`, in the listed order.
struct LegacyH5Weights: KerasWeightStore {
    /// The isolation child's catalog of the file, libhdf5 for what it does not hold.
    let file: HDF5Metadata
    var path: String { file.path }

    func variables(ofLayer layerPath: [String]) throws -> [(name: String, tensor: PendingTensor)] {
        guard let top = layerPath.first, let leaf = layerPath.last else { return [] }
        let group = "model_weights/\(top)"
        guard try file.exists(group) else { return [] }
        var names = try file.stringListAttribute("weight_names", at: group) ?? []
        if layerPath.count > 1 {
            names = names.filter { $0.split(separator: "/").dropLast().last.map(String.init) == leaf }
        }
        return try names.map { weight in
            let datasetPath = "\(group)/\(weight)"
            guard try file.exists(datasetPath) else {
                throw FileError(
                    path: path, member: datasetPath,
                    reason: "listed in weight_names of layer '\(layerPath.joined(separator: "/"))' but missing")
            }
            return (weight, try file.pendingTensor(datasetPath))
        }
    }
}

/// Keras 3 weights (`model.weights.h5` inside a `.keras` zip, or a `.weights.h5`): a group per layer under `layers/`
/// holding `vars/0`, `vars/1`, … in variable order; a nested model's group holds its own layers' groups under its
/// `layers/`. The group's `vars` carries the layer's name as attribute `name`; files without it are matched by
/// Keras' own group naming (snake-case class name, `_1`, `_2`… in each model's layer order).
struct Keras3Weights: KerasWeightStore {
    let file: HDF5File
    /// Layer path (`head/block/conv`) → group path (`layers/functional_1/layers/functional/layers/conv2d`).
    private let groups: [String: String]
    var path: String { file.path }

    init(file: HDF5File, config: KerasConfig) throws {
        self.file = file
        var groups: [String: String] = [:]
        // Iterative, to the nesting depth the config allows.
        var pending: [(container: String, prefix: String, depth: Int)] = [("layers", "", 0)]
        while let (container, prefix, depth) = pending.popLast() {
            guard file.exists(container) else { continue }
            for member in try file.groupMembers(container) {
                let group = "\(container)/\(member)"
                let vars = "\(group)/vars"
                guard file.exists(vars), let name = try? file.stringAttribute("name", at: vars) else { continue }
                groups[prefix + name] = group
                if depth < KerasConfig.maximumNesting, file.exists("\(group)/layers") {
                    pending.append(("\(group)/layers", prefix + name + "/", depth + 1))
                }
            }
        }
        if groups.isEmpty {
            // Outer models first, so each nested model's group is known before its layers are named.
            for scope in config.scopes.keys.sorted(by: {
                $0.split(separator: "/").count < $1.split(separator: "/").count
            }) {
                let container: String
                let isSequential: Bool
                if scope.isEmpty {
                    container = "layers"
                    isSequential = config.modelClass == "Sequential"
                } else {
                    guard let group = groups[scope] else { continue }
                    container = "\(group)/layers"
                    let parts = scope.split(separator: "/").map(String.init)
                    let parent = parts.dropLast().joined(separator: "/")
                    isSequential = config.scopes[parent]?.first { $0.name == parts.last }?.className == "Sequential"
                }
                var used: [String: Int] = [:]
                for layer in config.scopes[scope] ?? [] {
                    if isSequential && layer.className == "InputLayer" { continue }
                    var group = KerasNaming.snakeCase(layer.className)
                    if let count = used[group] {
                        used[group] = count + 1
                        group += "_\(count + 1)"
                    } else {
                        used[group] = 0
                    }
                    groups[(scope.isEmpty ? "" : scope + "/") + layer.name] = "\(container)/\(group)"
                }
            }
        }
        self.groups = groups
    }

    func variables(ofLayer layerPath: [String]) throws -> [(name: String, tensor: PendingTensor)] {
        let name = layerPath.joined(separator: "/")
        guard let group = groups[name], file.exists("\(group)/vars") else { return [] }
        let members = try file.groupMembers("\(group)/vars")
        var variables: [(name: String, tensor: PendingTensor)] = []
        for index in 0..<members.count {
            let datasetPath = "\(group)/vars/\(index)"
            guard file.exists(datasetPath) else {
                throw FileError(
                    path: path, member: datasetPath, reason: "variable \(index) of layer '\(name)' is missing")
            }
            variables.append(("vars/\(index)", try file.pendingTensor(datasetPath)))
        }
        return variables
    }
}

extension HDF5File {
    /// A dataset described by its header, read when the plan needs it.
    func pendingTensor(_ datasetPath: String) throws -> PendingTensor {
        let (dtype, shape, stored) = try describe(datasetPath)
        return PendingTensor(dtype: dtype, shape: shape, stored: stored) {
            try self.readTensor(datasetPath)
        }
    }
}

/// Keras' naming rules, where tfparity must reproduce them.
public enum KerasNaming {
    /// Keras 3's `naming.to_snake_case`, the group name of a layer's weights in `model.weights.h5`:
    /// `BatchNormalization` → `batch_normalization`, `Conv2D` → `conv2d`, `ReLU` → `re_lu`.
    public static func snakeCase(_ name: String) -> String {
        var text = name.replacingOccurrences(of: "[^A-Za-z0-9_]+", with: "", options: .regularExpression)
        text = text.replacingOccurrences(of: "(.)([A-Z][a-z]+)", with: "$1_$2", options: .regularExpression)
        text = text.replacingOccurrences(of: "([a-z])([A-Z])", with: "$1_$2", options: .regularExpression)
        return text.lowercased()
    }
}

/// The Keras file kinds tfparity reads without a spec.
enum KerasFiles {
    static let configMember = "config.json"
    static let weightsMember = "model.weights.h5"

    /// The HDF5 kind: a legacy Keras model (`model_config` attribute) of Keras 2 or 3, Keras 3 weights, or a dump.
    static func hdf5Kind(_ path: String) throws -> SourceKind {
        // Reading attributes is where libhdf5 has crashed on crafted files: the probe checks the file first, unless
        // the pure-Swift reader read it (then the probe runs only if libhdf5 is asked something).
        try HDF5Isolation.catalog(path)
        guard let file = try? HDF5Metadata(path: path) else { return .hdf5 }
        if (try? file.stringAttribute("model_config")) ?? nil != nil {
            let version = (try? file.stringAttribute("keras_version")) ?? nil
            return version?.hasPrefix("2.") ?? true ? .keras2H5 : .keras3H5
        }
        if (try? file.exists("layers")) == true, (try? file.exists("vars")) == true { return .keras3Weights }
        return .hdf5
    }

    /// True for a zip holding `config.json` (a Keras 3 `.keras` file).
    static func isKerasArchive(_ path: String) -> Bool {
        guard let archive = try? ZipArchive(path: path) else { return false }
        return archive.names.contains(configMember)
    }

    /// Builds the model a Keras file describes: its config gives the graph, its weights the parameters.
    ///
    /// `configPath` is required for a `.weights.h5`, which holds no architecture.
    static func plan(path: String, kind: SourceKind, config configPath: String?) throws -> ModelPlan {
        let config: KerasConfig
        let store: KerasWeightStore
        // What the plan's tensors read from, kept alive with it (a `.keras` file's extracted weights).
        var retained: AnyObject?
        switch kind {
        case .keras2H5, .keras3H5:
            let file = try HDF5Metadata(path: path)
            if let configPath {
                config = try KerasConfig.parse(
                    try readConfig(configPath), path: configPath, isKeras2: kind == .keras2H5)
            } else {
                guard let text = try file.stringAttribute("model_config") else {
                    throw FileError(path: path, reason: "no 'model_config' attribute")
                }
                config = try KerasConfig.parse(Array(text.utf8), path: path, isKeras2: kind == .keras2H5)
            }
            store = LegacyH5Weights(file: file)
        case .keras3Keras:
            let archive = try ZipArchive(path: path)
            config = try KerasConfig.parse(
                try configPath.map(readConfig) ?? archive.data(of: configMember), path: configPath ?? path,
                isKeras2: false)
            guard archive.names.contains(weightsMember) else {
                throw FileError(path: path, member: weightsMember, reason: "missing from the .keras archive")
            }
            let weights = try ExtractedWeights(archive, member: weightsMember)
            store = try Keras3Weights(file: weights.file, config: config)
            retained = weights
        case .keras3Weights, .hdf5:
            guard let configPath else { throw ImportError.weightsWithoutConfig(path: path) }
            config = try KerasConfig.parse(try readConfig(configPath), path: configPath, isKeras2: false)
            try HDF5Isolation.check(path)
            let file = try HDF5File(path: path)
            store = try Keras3Weights(file: file, config: config)
        default:
            throw FileError(path: path, reason: "a \(kind.rawValue) source is not a Keras model file")
        }
        var plan = try KerasModelBuilder(config: config, store: store, path: path).plan()
        if let retained { plan.retained.append(retained) }
        return plan
    }

    private static func readConfig(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError(path: path, reason: "cannot be read")
        }
        return [UInt8](data)
    }
}

/// Turns a Keras config and its weights into a `Model`: one layer per Keras layer, named as Keras names it (nested
/// models' layers as `<nested model>/<layer>`, see `KerasConfig`).
struct KerasModelBuilder {
    var config: KerasConfig
    var store: KerasWeightStore
    var path: String

    /// The layers the outputs depend on, with their variables described but not read.
    func plan() throws -> ModelPlan {
        let modelInputs = Set(config.inputNames)
        var indexOfLayer: [String: Int] = [:]
        for (index, entry) in config.layers.enumerated() { indexOfLayer[entry.name] = index }
        // Only the layers the outputs depend on, in config order.
        var needed: Set<String> = []
        var stack = config.outputs
        while let name = stack.popLast() {
            guard !modelInputs.contains(name), needed.insert(name).inserted else { continue }
            guard let index = indexOfLayer[name] else {
                throw FileError(
                    path: config.path, member: name, reason: "named as an input but not a layer of the model")
            }
            stack.append(contentsOf: config.layers[index].inbound)
        }
        var layers: [Layer] = []
        var parameters: [String: PendingTensor] = [:]
        for entry in config.layers where needed.contains(entry.name) {
            if entry.isNestedModelOutput {
                layers.append(Layer(name: entry.name, op: IdentityLayer(), inputs: entry.inbound))
                continue
            }
            let mapped = try operation(entry)
            if mapped.inputs == nil, entry.call.positionalTensorCount < entry.call.tensors.count {
                let keywords = entry.call.keyword.filter { $0.value is KerasTensorArgument }.keys.sorted()
                throw FileError(
                    path: config.path, member: entry.name,
                    reason: "the \(entry.className) layer is called with a tensor as keyword argument "
                        + keywords.map { "'\($0)'" }.joined(separator: ", ") + "; tfparity does not support that")
            }
            let inputs = mapped.inputs.map { $0.map { entry.inbound[$0] } } ?? entry.inbound
            guard !inputs.isEmpty else {
                throw FileError(path: config.path, member: entry.name, reason: "the layer has no input")
            }
            let variables = try store.variables(ofLayer: entry.weightPath)
            guard variables.count == mapped.variables.count else {
                let expected = mapped.variables.isEmpty ? "none" : mapped.variables.joined(separator: ", ")
                throw FileError(
                    path: store.path, member: entry.name,
                    reason: "the \(entry.className) layer has \(variables.count) variables in the file, its config "
                        + "implies \(mapped.variables.count) (\(expected))")
            }
            for (parameter, variable) in zip(mapped.variables, variables) {
                parameters["\(entry.name)/\(parameter)"] = variable.tensor
            }
            layers.append(
                Layer(
                    name: entry.name, op: mapped.op, inputs: inputs,
                    precision: try KerasDTypePolicy.precision(of: entry, path: config.path)))
        }
        var plan = ModelPlan(layers: layers, parameters: parameters, provenance: nil, sourcePath: store.path)
        plan.inputNames = config.inputNames
        plan.declaredOutputs = config.outputs == layers.suffix(1).map(\.name) ? nil : config.outputs
        // ModelImporters checks the plan (attributes, shapes) before anything is read, naming the file the user gave.
        return plan
    }

    /// The op for one Keras layer and the model names of its variables, in the layer's variable order: the
    /// class's mapping (`Layers/`, listed by `KerasLayerRegistry`) decides; Keras 3's operation layers
    /// (`keras.src.ops.numpy` `Add`, …) are `KerasOperationLayers`'.
    func operation(_ entry: KerasConfig.LayerEntry) throws -> KerasMapped {
        let layer = KerasLayer(entry: entry, path: config.path, isKeras2: config.isKeras2)
        if let module = entry.module, module.hasPrefix("keras.src.ops") {
            return try KerasOperationLayers.map(layer, module: module)
        }
        guard let mapping = KerasLayerRegistry.mapping(forClass: entry.className) else {
            throw layer.fail(KerasLayerRegistry.refusal(forClass: entry.className, layer: entry.name))
        }
        let mapped = try mapping.map(layer)
        if let inputs = mapped.inputs {
            precondition(inputs.allSatisfy(entry.inbound.indices.contains), "a mapping chose an input it lacks")
        }
        return mapped
    }
}

/// A Keras layer's dtype policy (`mixed_float16`, `mixed_bfloat16`, or a plain dtype) as the precision it computes in.
enum KerasDTypePolicy {
    /// Keras 3 writes `{"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}` (or `FloatDTypePolicy`),
    /// tf_keras `{"class_name": "Policy", "config": {"name": …}}` or the bare name; absent means float32.
    static func precision(of entry: KerasConfig.LayerEntry, path: String) throws -> Precision {
        var name: String?
        if let text = entry.config["dtype"] as? String {
            name = text
        } else if let object = entry.config["dtype"] as? [String: Any] {
            name = (object["config"] as? [String: Any])?["name"] as? String
        }
        switch name {
        case nil, "float32": return .float32
        case "mixed_float16", "float16": return .float16
        case "mixed_bfloat16", "bfloat16": return .bfloat16
        case let other?:
            throw FileError(
                path: path, member: entry.name,
                reason: "dtype policy '\(other)' is not supported (float32, mixed_float16, mixed_bfloat16)")
        }
    }
}
