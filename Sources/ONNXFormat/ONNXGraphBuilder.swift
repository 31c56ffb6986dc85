import TensorCore

/// Builds a graph node by node for an exporter, keeping every value name unique and every node's inputs defined
/// before it (so the nodes are in the topological order ONNX requires).
///
/// Names are the exporter's business, so wiring mistakes (an input that names nothing, a graph input or explicit
/// output name given twice) are bugs in the exporter and trap.
public struct ONNXGraphBuilder: Sendable {
    public private(set) var graph: ONNXGraph
    /// Every value name handed out or used: inputs, initializers, node outputs, and names reserved by `uniqueName`.
    private var reserved: Set<String> = []
    /// Values that exist so far: what a node may read.
    private var defined: Set<String> = []
    private var nodeNames: Set<String> = []

    public init(name: String) {
        graph = ONNXGraph(name: name)
    }

    /// `base` when no value has that name yet, otherwise `base_1`, `base_2`, …; the name is reserved for the caller
    /// (a node's explicit output, say).
    public mutating func uniqueName(_ base: String) -> String {
        let name = Self.unique(base, in: reserved)
        reserved.insert(name)
        return name
    }

    /// Declares a graph input; its name is the one a caller feeds, so it must be free.
    /// - Parameter shape: may start with a symbolic batch, `["N", 224, 224, 3]`.
    @discardableResult
    public mutating func addInput(_ name: String, elementType: ONNXDataType = .float, shape: [ONNXDimension]) -> String
    {
        define(name)
        graph.inputs.append(ONNXValueInfo(name: name, elementType: elementType, shape: shape))
        return name
    }

    /// Declares an existing value (a node's output, usually) a graph output. Graph inputs and outputs need a shape
    /// (onnx's checker refuses them without); a dimension may be `.unknown`.
    public mutating func addOutput(_ name: String, elementType: ONNXDataType = .float, shape: [ONNXDimension]) {
        precondition(defined.contains(name), "graph output '\(name)' is no value of the graph")
        precondition(!graph.outputs.contains { $0.name == name }, "graph output '\(name)' given twice")
        graph.outputs.append(ONNXValueInfo(name: name, elementType: elementType, shape: shape))
    }

    /// Adds a weight; returns its name (`name`, or `name_1`… when that is taken).
    @discardableResult
    public mutating func addInitializer(_ name: String, _ tensor: Tensor) -> String {
        let unique = fresh(name)
        graph.initializers.append(ONNXTensor(name: unique, tensor))
        return unique
    }

    /// Adds a float32 weight from values in C order.
    @discardableResult
    public mutating func addInitializer(_ name: String, shape: [Int], floats: [Float]) -> String {
        let unique = fresh(name)
        graph.initializers.append(ONNXTensor(name: unique, shape: shape, floats: floats))
        return unique
    }

    /// Adds an int64 constant: a shape for Reshape, pads for Pad, axes for the reductions.
    @discardableResult
    public mutating func addInitializer(_ name: String, shape: [Int], int64s: [Int64]) -> String {
        let unique = fresh(name)
        graph.initializers.append(ONNXTensor(name: unique, shape: shape, int64s: int64s))
        return unique
    }

    /// Adds a node writing the named `outputs` (each free, or reserved with `uniqueName`); returns them.
    /// - Parameters:
    ///   - inputs: values defined earlier; `""` for an omitted optional input.
    ///   - name: the node's name (made unique among nodes); defaults to the op type.
    @discardableResult
    public mutating func addNode(
        _ opType: String, inputs: [String], outputs: [String], name: String? = nil, domain: String = "",
        attributes: [ONNXAttribute] = []
    ) -> [String] {
        for input in inputs where !input.isEmpty {
            precondition(defined.contains(input), "node \(opType) reads '\(input)', which no earlier node defines")
        }
        let nodeName = Self.unique(name ?? opType, in: nodeNames)
        nodeNames.insert(nodeName)
        for output in outputs {
            precondition(!defined.contains(output), "node \(nodeName) writes '\(output)', which already exists")
            defined.insert(output)
            reserved.insert(output)
        }
        graph.nodes.append(
            ONNXNode(
                opType: opType, inputs: inputs, outputs: outputs, name: nodeName, domain: domain,
                attributes: attributes))
        return outputs
    }

    /// Adds a node with one output, named after the node; returns that output's name.
    @discardableResult
    public mutating func addNode(
        _ opType: String, inputs: [String], name: String? = nil, domain: String = "",
        attributes: [ONNXAttribute] = []
    ) -> String {
        let output = uniqueName(name ?? opType)
        return addNode(opType, inputs: inputs, outputs: [output], name: name, domain: domain, attributes: attributes)[0]
    }

    /// The model of this graph at `opset` (the IR version follows from it).
    public func model(
        opset: Int = ONNXModel.defaultOpset, producerVersion: String = "", metadata: [ONNXStringEntry] = []
    ) -> ONNXModel {
        precondition(!graph.outputs.isEmpty, "graph '\(graph.name)' has no outputs")
        return ONNXModel(graph: graph, opset: opset, producerVersion: producerVersion, metadata: metadata)
    }

    private mutating func fresh(_ base: String) -> String {
        let name = uniqueName(base)
        defined.insert(name)
        return name
    }

    private mutating func define(_ name: String) {
        precondition(!reserved.contains(name), "value name '\(name)' is already used")
        reserved.insert(name)
        defined.insert(name)
    }

    private static func unique(_ base: String, in taken: Set<String>) -> String {
        guard taken.contains(base) else { return base }
        var suffix = 1
        while taken.contains("\(base)_\(suffix)") { suffix += 1 }
        return "\(base)_\(suffix)"
    }
}
