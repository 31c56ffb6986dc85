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

    /// `list(...)` values, of one element type: TensorFlow refuses a list with more than one of its fields set
    /// (`AttrValueHasType`), and so does the decoder.
    public enum ListValue: Sendable, Equatable {
        /// No field set: an empty list of any type.
        case empty
        case strings([[UInt8]])
        case ints([Int64])
        case floats([Float])
        case bools([Bool])
        case types([TFDataType])
        case shapes([TensorShapeProto])
        case tensors([TensorProto])
        case functions([NameAttrList])
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
        return try ProtobufReader.decode(bytes, into: Self.empty) { list, reader, number, wireType in
            switch number {
            case 2:
                try ProtobufReader.expect(.lengthDelimited, wireType, field: 2, "list.s")
                try list.append(.strings([try reader.bytes()]))
            case 3: try list.append(.ints(try buffers.int64s(&reader, wireType, "list.i")))
            case 4: try list.append(.floats(try buffers.floats(&reader, wireType, "list.f")))
            case 5: try list.append(.bools(try buffers.bools(&reader, wireType, "list.b")))
            case 6:
                let types = try buffers.varints(&reader, wireType, "list.type").map { code in
                    guard code < 1000 else { throw ProtobufReader.Malformed(reason: "list.type holds \(code)") }
                    return TFDataType(rawValue: Int(code))
                }
                try list.append(.types(types))
            case 7:
                let shape = try TensorShapeProto.decode(try reader.message(wireType, field: 7, "list.shape"))
                try list.append(.shapes([shape]))
            case 8:
                let tensor = try TensorProto.decode(try reader.message(wireType, field: 8, "list.tensor"))
                try list.append(.tensors([tensor]))
            case 9:
                let function = try NameAttrList.decode(
                    try reader.message(wireType, field: 9, "list.func"), depth: depth + 1, limits: limits)
                try list.append(.functions([function]))
            default:
                try reader.skip(wireType)
            }
        }
    }

    /// The list with `more` of the same type appended (a repeated field may come in several runs); a second type is
    /// malformed.
    private mutating func append(_ more: Self) throws {
        switch (self, more) {
        case (.empty, _): self = more
        case (.strings(let a), .strings(let b)): self = .strings(a + b)
        case (.ints(let a), .ints(let b)): self = .ints(a + b)
        case (.floats(let a), .floats(let b)): self = .floats(a + b)
        case (.bools(let a), .bools(let b)): self = .bools(a + b)
        case (.types(let a), .types(let b)): self = .types(a + b)
        case (.shapes(let a), .shapes(let b)): self = .shapes(a + b)
        case (.tensors(let a), .tensors(let b)): self = .tensors(a + b)
        case (.functions(let a), .functions(let b)): self = .functions(a + b)
        default: throw ProtobufReader.Malformed(reason: "a list attribute holds values of two types")
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
