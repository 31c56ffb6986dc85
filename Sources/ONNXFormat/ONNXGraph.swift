import ProtobufWire

/// A computation graph (`GraphProto`): nodes in topological order, the weights they read as initializers, and the
/// graph's typed inputs and outputs.
public struct ONNXGraph: Sendable, Equatable {
    public var name: String
    public var nodes: [ONNXNode]
    public var initializers: [ONNXTensor]
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]
    /// Types of intermediate values, when the exporter knows them (runtimes infer them otherwise).
    public var valueInfo: [ONNXValueInfo]

    public init(
        name: String, nodes: [ONNXNode] = [], initializers: [ONNXTensor] = [], inputs: [ONNXValueInfo] = [],
        outputs: [ONNXValueInfo] = [], valueInfo: [ONNXValueInfo] = []
    ) {
        self.name = name
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
        self.valueInfo = valueInfo
    }
}

extension ONNXGraph: ProtobufMessage {
    private enum Field {
        static let node = 1
        static let name = 2
        static let initializer = 5
        static let input = 11
        static let output = 12
        static let valueInfo = 13
    }

    public var encodedSize: Int {
        var size = nodes.reduce(0) { $0 + ProtobufWriter.messageFieldSize(Field.node, $1) }
        size += ProtobufWriter.stringFieldSize(Field.name, name)
        size += initializers.reduce(0) { $0 + ProtobufWriter.messageFieldSize(Field.initializer, $1) }
        size += inputs.reduce(0) { $0 + ProtobufWriter.messageFieldSize(Field.input, $1) }
        size += outputs.reduce(0) { $0 + ProtobufWriter.messageFieldSize(Field.output, $1) }
        size += valueInfo.reduce(0) { $0 + ProtobufWriter.messageFieldSize(Field.valueInfo, $1) }
        return size
    }

    public func encode(into writer: inout ProtobufWriter) {
        for node in nodes { writer.writeMessage(Field.node, node) }
        writer.writeString(Field.name, name)
        for tensor in initializers { writer.writeMessage(Field.initializer, tensor) }
        for input in inputs { writer.writeMessage(Field.input, input) }
        for output in outputs { writer.writeMessage(Field.output, output) }
        for value in valueInfo { writer.writeMessage(Field.valueInfo, value) }
    }
}
