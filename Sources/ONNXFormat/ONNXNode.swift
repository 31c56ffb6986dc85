import ProtobufWire

/// A named attribute of a node (`AttributeProto`) with the value types exporters need.
public struct ONNXAttribute: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case float(Float)
        case int(Int64)
        /// A `bytes` attribute holding UTF-8 text (`auto_pad`, `mode`, …).
        case string(String)
        case tensor(ONNXTensor)
        case floats([Float])
        case ints([Int64])
        case strings([String])
    }

    public var name: String
    public var value: Value

    public init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }

    public static func float(_ name: String, _ value: Float) -> ONNXAttribute { ONNXAttribute(name, .float(value)) }
    public static func int(_ name: String, _ value: Int) -> ONNXAttribute { ONNXAttribute(name, .int(Int64(value))) }
    public static func string(_ name: String, _ value: String) -> ONNXAttribute { ONNXAttribute(name, .string(value)) }
    public static func tensor(_ name: String, _ value: ONNXTensor) -> ONNXAttribute {
        ONNXAttribute(name, .tensor(value))
    }
    public static func floats(_ name: String, _ values: [Float]) -> ONNXAttribute {
        ONNXAttribute(name, .floats(values))
    }
    public static func ints(_ name: String, _ values: [Int]) -> ONNXAttribute {
        ONNXAttribute(name, .ints(values.map(Int64.init)))
    }
    public static func strings(_ name: String, _ values: [String]) -> ONNXAttribute {
        ONNXAttribute(name, .strings(values))
    }
}

extension ONNXAttribute: ProtobufFields {
    // AttributeProto: name = 1, f = 2, i = 3, s = 4, t = 5, floats = 7, ints = 8, strings = 9, type = 20.

    /// `AttributeProto.AttributeType`.
    private var typeCode: UInt64 {
        switch value {
        case .float: 1
        case .int: 2
        case .string: 3
        case .tensor: 4
        case .floats: 6
        case .ints: 7
        case .strings: 8
        }
    }

    // `floats` and `ints` are proto2 repeated fields without `packed`: one key per element, as the reference writes.
    public func writeFields(to sink: inout some ProtobufFieldSink) {
        sink.writeString(1, name)
        switch value {
        case .float(let value): sink.writeFloat(2, value)
        case .int(let value): sink.writeInt64(3, value)
        case .string(let value): sink.writeString(4, value)
        case .tensor(let tensor): sink.writeMessage(5, tensor)
        case .floats(let values): for value in values { sink.writeFloat(7, value) }
        case .ints(let values): for value in values { sink.writeInt64(8, value) }
        case .strings(let values): sink.writeStrings(9, values)
        }
        sink.writeVarint(20, typeCode)
    }
}

/// One operator application (`NodeProto`). An empty input name stands for an omitted optional input.
///
/// Made by `ONNXGraphBuilder.addNode`, which keeps node names unique and every input defined before it is read.
public struct ONNXNode: Sendable, Equatable {
    public var opType: String
    public var inputs: [String]
    public var outputs: [String]
    public var name: String = ""
    /// The operator set's domain; `""` is the default `ai.onnx`.
    public var domain: String = ""
    public var attributes: [ONNXAttribute] = []
}

extension ONNXNode: ProtobufFields {
    // NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7.
    public func writeFields(to sink: inout some ProtobufFieldSink) {
        sink.writeStrings(1, inputs)
        sink.writeStrings(2, outputs)
        if !name.isEmpty { sink.writeString(3, name) }
        sink.writeString(4, opType)
        sink.writeMessages(5, attributes)
        if !domain.isEmpty { sink.writeString(7, domain) }
    }
}
