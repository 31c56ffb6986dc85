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

extension ONNXGraph: ProtobufFields {
    private enum Field {
        static let node = 1
        static let name = 2
        static let initializer = 5
        static let input = 11
        static let output = 12
        static let valueInfo = 13
    }

    public func writeFields(to sink: inout some ProtobufFieldSink) {
        sink.writeMessages(Field.node, nodes)
        sink.writeString(Field.name, name)
        sink.writeMessages(Field.initializer, initializers)
        sink.writeMessages(Field.input, inputs)
        sink.writeMessages(Field.output, outputs)
        sink.writeMessages(Field.valueInfo, valueInfo)
    }
}
