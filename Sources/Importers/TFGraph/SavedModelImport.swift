import Foundation
import ParityModel
import TFCheckpoint
import TFGraph
import TensorCore

/// SavedModel directories: the signature's function lowered like any graph. A TF1 builder's signature names tensors
/// of its graph, whose variables are checkpoint keys; a TF2 signature calls a concrete function whose captured
/// variable handles are bound through the SavedObjectGraph (`bound_inputs`) to variables, named by
/// `SavedVariable.name`, and to checkpoint keys through the checkpoint's object graph. A tf_keras SavedModel
/// (`keras_metadata.pb`) is read by the Keras importer instead.
enum SavedModelImport {
    static func plan(_ request: ImportRequest) throws -> ModelPlan {
        let directory = request.source
        let metadataPath = (directory.hasSuffix("/") ? directory : directory + "/") + "keras_metadata.pb"
        if FileManager.default.fileExists(atPath: metadataPath) {
            return try TFKerasSavedModel.plan(directory: directory, metadata: metadataPath)
        }
        let file = GraphSourceFiles.savedModelFile(directory)
        let saved = try SavedModel.read(contentsOf: file)
        let options = request.graph
        let selection = options.savedModel
        guard let meta = saved.metaGraph(tag: selection.tag) else {
            throw GraphImportError.noTag(
                path: file, tag: selection.tag, available: Array(Set(saved.metaGraphs.flatMap(\.tags))).sorted())
        }
        guard let signature = meta.signatures[selection.signature] else {
            throw GraphImportError.noSignature(
                path: file, signature: selection.signature,
                // `__saved_model_init_op` and its kind are TensorFlow's own, not signatures a user calls.
                available: meta.signatures.keys.filter { !$0.hasPrefix("__") }.sorted())
        }
        let inputs = signature.inputs.keys.sorted().compactMap { signature.inputs[$0]?.name }
        let outputs = signature.outputs.keys.sorted().compactMap { signature.outputs[$0]?.name }
        let bundle = try TensorBundle(path: directory)
        var overrides: [String: GraphVariable] = [:]
        if let objects = meta.objectGraph, !objects.nodes.isEmpty {
            overrides = try capturedVariables(meta.graph, objects: objects, bundle: bundle, path: file)
        }
        let weights = GraphWeights(bundle: bundle, bundlePath: directory, constantsAreVariables: false)
        return try GraphImporter.plan(
            meta.graph, file: file, options: options, weights: weights, signature: (inputs, outputs),
            variableOverrides: overrides, savedModel: selection)
    }

    /// For each top-level call of a concrete function with captures: the node passed as each captured input, bound to
    /// its variable's name and checkpoint key.
    static func capturedVariables(
        _ graph: GraphDef, objects: SavedObjectGraph, bundle: TensorBundle, path: String
    ) throws -> [String: GraphVariable] {
        let trackable = try checkpointObjects(bundle)
        var bindings: [String: GraphVariable] = [:]
        for node in graph.nodes where node.op == "StatefulPartitionedCall" || node.op == "PartitionedCall" {
            guard let function = node.attr["f"]?.functionValue?.name,
                let bound = objects.concreteFunctions[function]?.boundInputs, !bound.isEmpty
            else { continue }
            let data = node.inputs.filter { !$0.hasPrefix("^") }
            guard data.count >= bound.count else {
                throw GraphImportError.badFunction(
                    path: path, node: node.name,
                    reason: "calls '\(function)' with \(data.count) inputs, but it captures \(bound.count) objects")
            }
            for (input, id) in zip(data.suffix(bound.count), bound) {
                guard case .variable(let variable) = objects.nodes[id].kind,
                    let reference = TensorReference(parsing: input)
                else { continue }
                var name = variable.name
                if name.hasSuffix(":0") { name.removeLast(2) }
                let key = trackable.flatMap { checkpointKey(of: id, named: name, in: $0) } ?? name
                bindings[reference.node] = GraphVariable(name: name, key: key)
            }
        }
        return bindings
    }

    /// The checkpoint's `_CHECKPOINTABLE_OBJECT_GRAPH`, when it has one.
    static func checkpointObjects(_ bundle: TensorBundle) throws -> TrackableObjectGraph? {
        guard bundle.entry(named: "_CHECKPOINTABLE_OBJECT_GRAPH") != nil,
            let bytes = try bundle.stringElements(named: "_CHECKPOINTABLE_OBJECT_GRAPH").first
        else { return nil }
        return try TrackableObjectGraph.decode(bytes[...], path: bundle.indexPath)
    }

    /// The variable's checkpoint key: the `VARIABLE_VALUE` of the checkpoint object with the SavedModel object's id
    /// (the two graphs number their objects alike), or else of the object whose variable has that name.
    static func checkpointKey(of id: Int, named name: String, in graph: TrackableObjectGraph) -> String? {
        func value(_ object: TrackableObjectGraph.Object) -> TrackableObjectGraph.Attribute? {
            object.attributes.first { $0.name == "VARIABLE_VALUE" }
        }
        if id < graph.nodes.count, let attribute = value(graph.nodes[id]), attribute.fullName == name {
            return attribute.checkpointKey
        }
        return graph.nodes.lazy.compactMap(value).first { $0.fullName == name }?.checkpointKey
    }
}

/// A tf_keras SavedModel (`model.save("dir", save_format="tf")`): the architecture from `keras_metadata.pb`, the
/// weights from the bundle, found through its object graph by each variable's name (`conv0/kernel`).
enum TFKerasSavedModel {
    static func plan(directory: String, metadata metadataPath: String) throws -> ModelPlan {
        let metadata = try KerasMetadata.read(contentsOf: metadataPath)
        guard let root = metadata.root,
            let json = try? JSONSerialization.jsonObject(with: Data(root.metadata.utf8)) as? [String: Any],
            let className = json["class_name"] as? String, let config = json["config"]
        else {
            throw FileError(path: metadataPath, reason: "the root object has no Keras model config")
        }
        let document = try JSONSerialization.data(
            withJSONObject: ["class_name": className, "config": untupled(config)])
        let keras = try KerasConfig.parse([UInt8](document), path: metadataPath, isKeras2: true)
        let bundle = try TensorBundle(path: directory)
        guard let objects = try SavedModelImport.checkpointObjects(bundle) else {
            throw FileError(path: bundle.indexPath, reason: "the SavedModel's checkpoint has no object graph")
        }
        let store = BundleKerasWeights(bundle: bundle, objects: objects, path: directory)
        return try KerasModelBuilder(config: keras, store: store, path: directory).plan()
    }
}

extension TFKerasSavedModel {
    /// The JSON with tf_keras' tuple encoding (`{"class_name": "__tuple__", "items": [3, 3]}`) replaced by the list
    /// a `model.to_json()` config holds.
    static func untupled(_ value: Any) -> Any {
        if let object = value as? [String: Any] {
            if object["class_name"] as? String == "__tuple__", let items = object["items"] as? [Any] {
                return items.map(untupled)
            }
            return object.mapValues(untupled)
        }
        if let list = value as? [Any] { return list.map(untupled) }
        return value
    }
}

/// A TF2 checkpoint's variables, by the Keras layer they belong to (`<layer>/<variable>` full names), in the order
/// Keras creates them.
struct BundleKerasWeights: KerasWeightStore {
    let bundle: TensorBundle
    let objects: TrackableObjectGraph
    let path: String
    /// Keras' creation order of the variables tfparity's layers own.
    static let order = [
        "kernel", "depthwise_kernel", "pointwise_kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance",
    ]

    /// The variables whose full name is `<layer>/<variable>`, the layer's own name being the last of `path` (the
    /// nested models holding it are not part of a tf_keras variable's name).
    func variables(ofLayer layerPath: [String]) throws -> [(name: String, tensor: PendingTensor)] {
        guard let name = layerPath.last else { return [] }
        var found: [(name: String, key: String)] = []
        var seen: Set<String> = []
        for object in objects.nodes {
            for attribute in object.attributes where attribute.name == "VARIABLE_VALUE" {
                guard attribute.fullName.hasPrefix(name + "/"), seen.insert(attribute.checkpointKey).inserted else {
                    continue
                }
                found.append((String(attribute.fullName.dropFirst(name.count + 1)), attribute.checkpointKey))
            }
        }
        let rank = { (variable: String) in Self.order.firstIndex(of: variable) ?? Self.order.count }
        return try found.enumerated().sorted { (rank($0.element.name), $0.offset) < (rank($1.element.name), $1.offset) }
            .map { _, variable in
                guard let entry = bundle.entry(named: variable.key), case .tensor(let dtype) = entry.kind else {
                    throw FileError(path: path, member: variable.key, reason: "not a tensor of the checkpoint")
                }
                let bundle = bundle
                return (
                    variable.name,
                    PendingTensor(dtype: dtype, shape: entry.shape) { try bundle.tensor(named: variable.key) }
                )
            }
    }
}
