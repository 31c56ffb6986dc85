import ProtobufWire

/// A computation graph (`GraphProto`): nodes in topological order, the weights they read as initializers, and the
/// graph's typed inputs and outputs.
public struct ONNXGraph: Sendable, Equatable {
    public var name: String
    public var nodes: [ONNXNode] = []
    public var initializers: [ONNXTensor] = []
    public var inputs: [ONNXValueInfo] = []
    public var outputs: [ONNXValueInfo] = []
    /// Types of intermediate values, when the exporter knows them (runtimes infer them otherwise).
    public var valueInfo: [ONNXValueInfo] = []

    /// An empty graph, for `ONNXGraphBuilder` to fill.
    public init(name: String) {
        self.name = name
    }
}

extension ONNXGraph: ProtobufFields {
    // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12, value_info = 13.
    public func writeFields(to sink: inout some ProtobufFieldSink) {
        sink.writeMessages(1, nodes)
        sink.writeString(2, name)
        sink.writeMessages(5, initializers)
        sink.writeMessages(11, inputs)
        sink.writeMessages(12, outputs)
        sink.writeMessages(13, valueInfo)
    }
}
