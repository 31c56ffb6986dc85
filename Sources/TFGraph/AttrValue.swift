import ProtobufWire
import TensorCore

/// `AttrValue` (tensorflow/core/framework/attr_value.proto): one attribute of a node, such as a `Const`'s `value`,
/// a `FusedBatchNormV3`'s `epsilon` or an `If`'s `then_branch`.
public enum AttrValue: Sendable, Equatable {
    /// An attribute with no value set (proto3 writes nothing for a default).
    case none
    /// `s`: bytes, usually UTF-8 text (`padding`, `data_format`).
    case string([UInt8])
    case int(Int64)
    case float(Float)
    case bool(Bool)
    case type(TFDataType)
    case shape(TensorShapeProto)
    case tensor(TensorProto)
    case list(ListValue)
    /// A function (`If`'s branches, `PartitionedCall`'s `f`) with attribute bindings.
    case function(NameAttrList)
    /// Inside a function body: the value comes from the attribute of this name when the function is instantiated.
    case placeholder(String)

    /// `list(...)` values; only the field matching the attribute's type is set.
    public struct ListValue: Sendable, Equatable {
        public var strings: [[UInt8]] = []
        public var ints: [Int64] = []
        public var floats: [Float] = []
        public var bools: [Bool] = []
        public var types: [TFDataType] = []
        public var shapes: [TensorShapeProto] = []
        public var tensors: [TensorProto] = []
        public var functions: [NameAttrList] = []
        public init() {}
    }

    /// The text of a string attribute, when it is UTF-8.
    public var text: String? {
        if case .string(let bytes) = self { String(validating: bytes, as: UTF8.self) } else { nil }
    }

    /// Each other case's value, when the attribute is that case (nil otherwise).
    public var intValue: Int64? { if case .int(let value) = self { value } else { nil } }
    public var floatValue: Float? { if case .float(let value) = self { value } else { nil } }
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var typeValue: TFDataType? { if case .type(let value) = self { value } else { nil } }
    public var tensorValue: TensorProto? { if case .tensor(let value) = self { value } else { nil } }
    public var functionValue: NameAttrList? { if case .function(let value) = self { value } else { nil } }
    public var listValue: ListValue? { if case .list(let value) = self { value } else { nil } }

    static func decode(_ bytes: ArraySlice<UInt8>, depth: Int, limits: GraphLimits) throws -> AttrValue {
        guard depth <= limits.maxAttributeDepth else {
            throw ProtobufReader.Malformed(reason: "attribute values nest deeper than \(limits.maxAttributeDepth)")
        }
        return try ProtobufReader.decode(bytes, into: AttrValue.none) { value, reader, number, wireType in
            switch number {
            case 1:
                value = .list(
                    try ListValue.decode(try reader.message(wireType, field: 1, "list"), depth: depth, limits: limits))
            case 2:
                try ProtobufReader.expect(.lengthDelimited, wireType, field: 2, "s")
                value = .string(try reader.bytes())
            case 3: value = .int(try reader.int64(wireType, field: 3, "i"))
            case 4:
                try ProtobufReader.expect(.fixed32, wireType, field: 4, "f")
                value = .float(try reader.float())
            case 5: value = .bool(try reader.varint(wireType, field: 5, "b") != 0)
            case 6: value = .type(try TFDataType.read(&reader, wireType, field: 6, "type"))
            case 7:
                value = .shape(
                    try inField("shape") {
                        try TensorShapeProto.decode(try reader.message(wireType, field: 7, "shape"))
                    })
            case 8:
                value = .tensor(
                    try inField("tensor") { try TensorProto.decode(try reader.message(wireType, field: 8, "tensor")) })
            case 9: value = .placeholder(try reader.string(wireType, field: 9, "placeholder"))
            case 10:
                value = .function(
                    try NameAttrList.decode(
                        try reader.message(wireType, field: 10, "func"), depth: depth + 1, limits: limits))
            default:
                try reader.skip(wireType)
            }
        }
    }

    /// Decodes a `map<string, AttrValue>` entry.
    static func entry(_ bytes: ArraySlice<UInt8>, depth: Int, limits: GraphLimits) throws -> (String, AttrValue) {
        var key = ""
        var value = AttrValue.none
        try ProtobufReader.fields(bytes) { reader, number, wireType in
            switch number {
            case 1: key = try reader.string(wireType, field: 1, "attr key")
            case 2:
                let bytes = try reader.message(wireType, field: 2, "attr value")
                value = try inField("attr '\(key)'") { try AttrValue.decode(bytes, depth: depth, limits: limits) }
            default: try reader.skip(wireType)
            }
        }
        return (key, value)
    }
}

extension AttrValue.ListValue {
    static func decode(_ bytes: ArraySlice<UInt8>, depth: Int, limits: GraphLimits) throws -> Self {
        var buffers = RepeatedFieldBuffers()
        return try ProtobufReader.decode(bytes, into: Self()) { list, reader, number, wireType in
            switch number {
            case 2:
                try ProtobufReader.expect(.lengthDelimited, wireType, field: 2, "list.s")
                list.strings.append(try reader.bytes())
            case 3: list.ints += try buffers.int64s(&reader, wireType, "list.i")
            case 4: list.floats += try buffers.floats(&reader, wireType, "list.f")
            case 5: list.bools += try buffers.bools(&reader, wireType, "list.b")
            case 6:
                for code in try buffers.varints(&reader, wireType, "list.type") {
                    guard code < 1000 else { throw ProtobufReader.Malformed(reason: "list.type holds \(code)") }
                    list.types.append(TFDataType(rawValue: Int(code)))
                }
            case 7:
                list.shapes.append(try TensorShapeProto.decode(try reader.message(wireType, field: 7, "list.shape")))
            case 8:
                list.tensors.append(try TensorProto.decode(try reader.message(wireType, field: 8, "list.tensor")))
            case 9:
                list.functions.append(
                    try NameAttrList.decode(
                        try reader.message(wireType, field: 9, "list.func"), depth: depth + 1, limits: limits))
            default:
                try reader.skip(wireType)
            }
        }
    }
}

/// `NameAttrList`: a function name with attribute bindings (`MatMul[T=float]`).
public struct NameAttrList: Sendable, Equatable {
    public var name: String = ""
    public var attr: [String: AttrValue] = [:]

    public init(name: String = "", attr: [String: AttrValue] = [:]) {
        self.name = name
        self.attr = attr
    }

    static func decode(_ bytes: ArraySlice<UInt8>, depth: Int, limits: GraphLimits) throws -> NameAttrList {
        try ProtobufReader.decode(bytes, into: NameAttrList()) { list, reader, number, wireType in
            switch number {
            case 1: list.name = try reader.string(wireType, field: 1, "func.name")
            case 2:
                let (key, value) = try AttrValue.entry(
                    try reader.message(wireType, field: 2, "func.attr"), depth: depth, limits: limits)
                list.attr[key] = value
            default: try reader.skip(wireType)
            }
        }
    }
}
