import TFGraph
import TensorCore

/// A variable the graph reads, bound to the tensor holding its value.
struct GraphVariable: Hashable, Sendable {
    /// The variable's own name (`layer0/W`, a SavedModel's `SavedVariable.name`): what layers are named after.
    var name: String
    /// Its key in the checkpoint bundle.
    var key: String
}

/// One output of a node of the inference graph.
struct GraphTensor: Hashable, Sendable, CustomStringConvertible {
    var node: Int
    var output: Int

    var description: String { output == 0 ? "#\(node)" : "#\(node):\(output)" }
}

/// A node of the inference computation: control flow resolved with the fed values, function calls inlined, and
/// `Identity`, `ReadVariableOp`, `Switch`, `Merge` and the like replaced by what they pass on.
struct InferenceNode: Sendable {
    /// The node's name; an inlined node keeps its name in the function body (`net_1/relu_1/Relu`), as TensorFlow's
    /// inliner shows it once its call prefixes are dropped.
    var name: String
    var op: String
    var attr: [String: AttrValue]
    /// Data inputs only (control edges carry no value).
    var inputs: [GraphTensor]
    /// Where the node sits, for errors: `graph` or `function '__inference_serve_79'`.
    var location: String
    /// For `VariableV2`, `VarHandleOp` and a SavedModel's captured variables.
    var variable: GraphVariable?
    /// For `Const` and fed placeholders.
    var constant: Tensor?
    /// True for the model's input placeholder.
    var isInput = false
}

/// The inference computation of a graph between its input and its outputs, nodes in an order where every node comes
/// after its inputs.
struct InferenceGraph: Sendable {
    var path: String
    var nodes: [InferenceNode]
    var input: GraphTensor
    var outputs: [GraphTensor]
    /// The name the user (or signature) gave each output, for messages.
    var outputNames: [String]

    /// Nodes whose value depends on the input: the layers' data path.
    func dynamicNodes() -> [Bool] {
        var dynamic = [Bool](repeating: false, count: nodes.count)
        for (index, node) in nodes.enumerated() {
            dynamic[index] = node.isInput || node.inputs.contains { dynamic[$0.node] }
        }
        return dynamic
    }

    /// Nodes the outputs depend on.
    func neededNodes() -> [Bool] {
        var needed = [Bool](repeating: false, count: nodes.count)
        for output in outputs { needed[output.node] = true }
        for index in nodes.indices.reversed() where needed[index] {
            for input in nodes[index].inputs { needed[input.node] = true }
        }
        return needed
    }
}
