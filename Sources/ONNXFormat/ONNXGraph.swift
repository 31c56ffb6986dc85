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
        var size = ProtobufWriter.messagesFieldSize(Field.node, nodes)
        size += ProtobufWriter.stringFieldSize(Field.name, name)
        size += ProtobufWriter.messagesFieldSize(Field.initializer, initializers)
        size += ProtobufWriter.messagesFieldSize(Field.input, inputs)
        size += ProtobufWriter.messagesFieldSize(Field.output, outputs)
        size += ProtobufWriter.messagesFieldSize(Field.valueInfo, valueInfo)
        return size
    }

    public func encode(into writer: inout ProtobufWriter) {
        writer.writeMessages(Field.node, nodes)
        writer.writeString(Field.name, name)
        writer.writeMessages(Field.initializer, initializers)
        writer.writeMessages(Field.input, inputs)
        writer.writeMessages(Field.output, outputs)
        writer.writeMessages(Field.valueInfo, valueInfo)
    }
}
