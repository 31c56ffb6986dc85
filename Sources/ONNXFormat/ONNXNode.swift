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
    private enum Field {
        static let name = 1
        static let f = 2
        static let i = 3
        static let s = 4
        static let t = 5
        static let floats = 7
        static let ints = 8
        static let strings = 9
        static let type = 20
    }

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
        sink.writeString(Field.name, name)
        switch value {
        case .float(let value): sink.writeFloat(Field.f, value)
        case .int(let value): sink.writeInt64(Field.i, value)
        case .string(let value): sink.writeString(Field.s, value)
        case .tensor(let tensor): sink.writeMessage(Field.t, tensor)
        case .floats(let values): for value in values { sink.writeFloat(Field.floats, value) }
        case .ints(let values): for value in values { sink.writeInt64(Field.ints, value) }
        case .strings(let values): sink.writeStrings(Field.strings, values)
        }
        sink.writeVarint(Field.type, typeCode)
    }
}

/// One operator application (`NodeProto`). An empty input name stands for an omitted optional input.
public struct ONNXNode: Sendable, Equatable {
    public var opType: String
    public var inputs: [String]
    public var outputs: [String]
    public var name: String
    /// The operator set's domain; `""` is the default `ai.onnx`.
    public var domain: String
    public var attributes: [ONNXAttribute]

    public init(
        _ opType: String, inputs: [String], outputs: [String], name: String = "", domain: String = "",
        attributes: [ONNXAttribute] = []
    ) {
        self.opType = opType
        self.inputs = inputs
        self.outputs = outputs
        self.name = name
        self.domain = domain
        self.attributes = attributes
    }
}

extension ONNXNode: ProtobufFields {
    private enum Field {
        static let input = 1
        static let output = 2
        static let name = 3
        static let opType = 4
        static let attribute = 5
        static let domain = 7
    }

    public func writeFields(to sink: inout some ProtobufFieldSink) {
        sink.writeStrings(Field.input, inputs)
        sink.writeStrings(Field.output, outputs)
        if !name.isEmpty { sink.writeString(Field.name, name) }
        sink.writeString(Field.opType, opType)
        sink.writeMessages(Field.attribute, attributes)
        if !domain.isEmpty { sink.writeString(Field.domain, domain) }
    }
}
