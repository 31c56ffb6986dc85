import Foundation
import ParityModel
import TFCheckpoint
import TFGraph
import TensorCore

/// TensorFlow graphs, converted with no spec: a TF1 checkpoint with its meta graph (`<prefix>.meta` beside it, or
/// `--graph`), a frozen GraphDef, a SavedModel (TF1 builder, TF2 `tf.function` signature, Keras 3 export, tf_keras).
///
/// The graph's inference computation is found (`GraphSelection`), resolved and inlined (`GraphFlattener`), lowered to
/// layers by the op handlers (`GraphLowering`), and named by the contract's rule.
struct GraphImporter: ModelImporter {
    func accepts(_ request: ImportRequest) -> Bool {
        guard request.spec == nil else { return false }
        switch request.kind {
        case .tensorflowGraph: return true
        case .tensorflowCheckpoint:
            return request.graph.graph != nil || GraphSourceFiles.metaGraph(beside: request.source) != nil
        case .savedModel: return GraphSourceFiles.hasArchitecture(savedModel: request.source, options: request.graph)
        default: return false
        }
    }

    func plan(_ request: ImportRequest) throws -> (ModelPlan, SourceKind) {
        switch request.kind {
        case .tensorflowGraph:
            let graph = try GraphDef.read(contentsOf: request.source)
            let weights = GraphWeights(bundle: nil, bundlePath: request.source, constantsAreVariables: true)
            return (try Self.plan(graph, file: request.source, options: request.graph, weights: weights), request.kind)
        case .savedModel:
            return (try SavedModelImport.plan(request), request.kind)
        default:
            guard let metaPath = request.graph.graph ?? GraphSourceFiles.metaGraph(beside: request.source) else {
                throw GraphImportError.noMetaGraph(path: request.source)
            }
            let meta = try MetaGraphDef.read(contentsOf: metaPath)
            let bundle = try TensorBundle(path: request.source)
            let weights = GraphWeights(bundle: bundle, bundlePath: request.source, constantsAreVariables: false)
            return (
                try Self.plan(meta.graph, file: metaPath, options: request.graph, weights: weights), request.kind
            )
        }
    }

    /// The model a top-level graph computes from its input to its output.
    static func plan(
        _ definition: GraphDef, file: String, options: GraphImportOptions, weights: GraphWeights,
        signature: (inputs: [String], outputs: [String])? = nil,
        variableOverrides: [String: GraphVariable] = [:], savedModel: SavedModelSelection? = nil
    ) throws -> ModelPlan {
        let graph = try Graph(definition, path: file)
        let selection = try GraphSelection.choose(in: graph, options: options, signature: signature)
        guard selection.inputs.count == 1 else {
            throw GraphImportError.ambiguousInputs(path: file, candidates: selection.inputs)
        }
        let flattener = GraphFlattener(
            graph: graph, feeds: selection.feeds, inputs: Set(selection.inputs), variableOverrides: variableOverrides)
        var outputs: [GraphTensor] = []
        for output in selection.outputs {
            guard case .value(let tensor) = try flattener.resolveTopLevel(output) else {
                throw GraphImportError.unsupportedUse(
                    path: file, node: output.node, op: graph.node(named: output.node)?.op ?? "",
                    reason: "the output is in a branch the feeds do not take")
            }
            outputs.append(tensor)
        }
        guard let input = flattener.nodes.firstIndex(where: \.isInput) else {
            throw GraphImportError.ambiguousInputs(path: file, candidates: [])
        }
        let inference = InferenceGraph(
            path: file, nodes: flattener.nodes, input: GraphTensor(node: input, output: 0), outputs: outputs,
            outputNames: selection.outputs.map(\.description))
        let needed = inference.neededNodes()
        for (index, node) in inference.nodes.enumerated()
        where needed[index] && node.op == "Placeholder" && !node.isInput && node.constant == nil {
            throw GraphImportError.unfedPlaceholder(path: file, node: node.name)
        }
        var plan = try GraphLowering.plan(inference, weights: weights)
        plan.notes = selection.notes
        let feeds = selection.feeds.keys.sorted().map { name in
            "\(name)=" + (selection.feeds[name].map(Self.describe) ?? "")
        }
        var provenance = GraphProvenance(
            file: file, inputs: selection.inputs, outputs: selection.outputs.map(\.description), feeds: feeds)
        provenance.signature = savedModel?.signature
        provenance.tag = savedModel?.tag
        plan.graph = provenance
        return plan
    }

    private static func describe(_ tensor: Tensor) -> String {
        if tensor.dtype == .bool { return tensor.bytes.first == 0 ? "false" : "true" }
        return tensor.doubleValues().first.map { "\($0)" } ?? ""
    }
}

/// Where a graph source's files are.
public enum GraphSourceFiles {
    /// `<prefix>.meta` beside a checkpoint prefix, when it exists.
    public static func metaGraph(beside prefix: String) -> String? {
        let candidate = prefix + ".meta"
        return FileManager.default.fileExists(atPath: candidate) ? candidate : nil
    }

    /// A SavedModel directory's `saved_model.pb`.
    public static func savedModelFile(_ directory: String) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + "saved_model.pb"
    }

    /// Whether a SavedModel directory describes a model: `keras_metadata.pb`, or a signature a user could call (a
    /// `tf.train.Checkpoint`-style SavedModel with none is only variables, read with a spec). Asking for a tag or
    /// signature counts, so a wrong one is reported with those that exist.
    static func hasArchitecture(savedModel directory: String, options: GraphImportOptions) -> Bool {
        let root = directory.hasSuffix("/") ? directory : directory + "/"
        if FileManager.default.fileExists(atPath: root + "keras_metadata.pb") { return true }
        guard FileManager.default.fileExists(atPath: savedModelFile(directory)) else { return false }
        if options.savedModel != SavedModelSelection() { return true }
        guard let saved = try? SavedModel.read(contentsOf: savedModelFile(directory)) else { return true }
        return saved.metaGraphs.contains { meta in meta.signatures.keys.contains { !$0.hasPrefix("__") } }
    }

    /// Whether `path` holds a binary GraphDef: it decodes as one, with nodes that all have a name and an op.
    static func isGraphDef(_ path: String) -> Bool {
        guard let graph = try? GraphDef.read(contentsOf: path), !graph.nodes.isEmpty else { return false }
        return graph.nodes.allSatisfy { !$0.name.isEmpty && !$0.op.isEmpty && $0.op.allSatisfy(\.isASCII) }
    }
}
