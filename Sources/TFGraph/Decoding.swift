import ProtobufWire
import TensorCore

/// What a graph file may hold. The defaults are far above any real model and far below what would exhaust memory:
/// a file is refused before it is read, a node list before any node is decoded.
public struct GraphLimits: Sendable, Equatable {
    /// Graph files (`.pb`, `.meta`, `saved_model.pb`) larger than this are refused unread (protobuf's own limit is
    /// 2 GiB).
    public var maxFileBytes: Int = 2 << 30
    /// Nodes in one graph or one function body; objects in one object graph.
    public var maxNodes: Int = 200_000
    /// Functions in a library.
    public var maxFunctions: Int = 100_000
    /// Bytes of one tensor once decoded: a scalar `float_val` splatted over a huge shape would otherwise allocate it.
    public var maxTensorBytes: Int = 1 << 30
    /// Nesting of attribute values (`func` attributes hold attributes): bounds the decoder's recursion.
    public var maxAttributeDepth: Int = 32

    public init() {}

    public static let standard = GraphLimits()
}

/// Runs a decoder and gives any failure the node it happened in, unless a deeper decoder already named one.
func inNode<T>(_ node: @autoclosure () -> String?, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ProtobufReader.Malformed {
        throw DecodeFailure.malformed(error.reason, node: node())
    } catch var error as DecodeFailure {
        if error.node == nil { error.node = node() }
        throw error
    }
}

/// Runs a file-level decoder and turns its failures into `GraphError`s naming the file.
func decodingFile<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as GraphError {
        throw error
    } catch let error as DecodeFailure {
        throw error.error(path: path)
    } catch let error as ProtobufReader.Malformed {
        throw GraphError.malformed(path: path, node: nil, reason: error.reason)
    } catch {
        throw GraphError.malformed(path: path, node: nil, reason: "\(error)")
    }
}

/// Prefixes a failure's reason with the field it happened in (`attr 'value': ...`).
func inField<T>(_ field: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ProtobufReader.Malformed {
        throw ProtobufReader.Malformed(reason: "\(field): \(error.reason)")
    } catch var error as DecodeFailure {
        error.reason = "\(field): \(error.reason)"
        throw error
    }
}

extension ProtobufReader {
    /// Calls `body` with each field's number and wire type until the message ends.
    static func fields(
        _ bytes: ArraySlice<UInt8>, _ body: (inout ProtobufReader, Int, WireType) throws -> Void
    ) throws {
        var reader = ProtobufReader(bytes)
        while let (number, wireType) = try reader.nextField() {
            try body(&reader, number, wireType)
        }
    }

    /// The message `bytes` decoded into `empty`: `read` is given the message so far with each field's number and
    /// wire type, until the message ends (each decoder's "start empty, read every field, return it").
    static func decode<Message>(
        _ bytes: ArraySlice<UInt8>, into empty: Message,
        _ read: (inout Message, inout ProtobufReader, Int, WireType) throws -> Void
    ) throws -> Message {
        var message = empty
        try fields(bytes) { reader, number, wireType in try read(&message, &reader, number, wireType) }
        return message
    }

    /// Calls `read` with each occurrence of field `number` in the message `bytes`, skipping every other field: for
    /// the wrapper messages (`SavedUserObject`, `CollectionDef.NodeList`, …) of which a reader needs one field.
    static func field(
        _ number: Int, of bytes: ArraySlice<UInt8>, _ read: (inout ProtobufReader, WireType) throws -> Void
    ) throws {
        try fields(bytes) { reader, field, type in
            if field == number { try read(&reader, type) } else { try reader.skip(type) }
        }
    }

    /// The last value of `string` field `number` in the message `bytes` (`""` when absent), other fields skipped.
    static func string(field number: Int, of bytes: ArraySlice<UInt8>, _ name: String) throws -> String {
        var value = ""
        try field(number, of: bytes) { reader, type in value = try reader.string(type, field: number, name) }
        return value
    }

    /// A nested message field's bytes, its wire type checked first.
    mutating func message(_ wireType: WireType, field number: Int, _ name: String) throws -> ArraySlice<UInt8> {
        try Self.expect(.lengthDelimited, wireType, field: number, name)
        return try lengthDelimited()
    }

    /// A `string` field, its wire type checked first.
    mutating func string(_ wireType: WireType, field number: Int, _ name: String) throws -> String {
        try Self.expect(.lengthDelimited, wireType, field: number, name)
        return try string(name)
    }

    /// A varint field, its wire type checked first.
    mutating func varint(_ wireType: WireType, field number: Int, _ name: String) throws -> UInt64 {
        try Self.expect(.varint, wireType, field: number, name)
        return try varint()
    }

    /// An `int64` field, its wire type checked first.
    mutating func int64(_ wireType: WireType, field number: Int, _ name: String) throws -> Int64 {
        try Self.expect(.varint, wireType, field: number, name)
        return try int64()
    }

    /// One entry of a `map<string, V>` field (a message with the key at 1 and the value at 2).
    static func mapEntry<Value>(
        _ bytes: ArraySlice<UInt8>, _ name: String, value: (ArraySlice<UInt8>) throws -> Value, empty: Value
    ) throws -> (String, Value) {
        var key = ""
        var result = empty
        try fields(bytes) { reader, number, wireType in
            switch number {
            case 1: key = try reader.string(wireType, field: 1, "\(name) key")
            case 2: result = try value(try reader.message(wireType, field: 2, "\(name) value"))
            default: try reader.skip(wireType)
            }
        }
        return (key, result)
    }

    /// One entry of a `map<string, string>` field.
    static func stringMapEntry(_ bytes: ArraySlice<UInt8>, _ name: String) throws -> (String, String) {
        var key = ""
        var value = ""
        try fields(bytes) { reader, number, wireType in
            switch number {
            case 1: key = try reader.string(wireType, field: 1, "\(name) key")
            case 2: value = try reader.string(wireType, field: 2, "\(name) value")
            default: try reader.skip(wireType)
            }
        }
        return (key, value)
    }

    /// Refuses a message holding more than `limit` of field `number`, counted without decoding any of them.
    static func checkCount(
        field number: Int, in bytes: ArraySlice<UInt8>, limit: Int, _ what: String
    ) throws -> Int {
        let count = try Self.count(field: number, in: bytes)
        guard count <= limit else {
            throw DecodeFailure(kind: .tooMany(what: what, count: count, limit: limit), node: nil, reason: what)
        }
        return count
    }
}

/// The buffers a decoder reuses for its repeated numeric fields (`float_val`, `list.i`, …): each occurrence, one
/// value or a packed run, is read into one of them and converted from there, without a new array per occurrence.
struct RepeatedFieldBuffers {
    typealias WireType = ProtobufReader.WireType

    private var varints: [UInt64] = []
    private var words32: [UInt32] = []
    private var words64: [UInt64] = []

    /// One occurrence of a repeated varint field (`ProtobufReader.appendVarints`).
    mutating func varints(_ reader: inout ProtobufReader, _ wireType: WireType, _ name: String) throws -> [UInt64] {
        varints.removeAll(keepingCapacity: true)
        try reader.appendVarints(wireType, name, to: &varints)
        return varints
    }

    /// One occurrence of a repeated `int64` field.
    mutating func int64s(_ reader: inout ProtobufReader, _ wireType: WireType, _ name: String) throws -> [Int64] {
        try varints(&reader, wireType, name).map { Int64(bitPattern: $0) }
    }

    /// One occurrence of a repeated `bool` field.
    mutating func bools(_ reader: inout ProtobufReader, _ wireType: WireType, _ name: String) throws -> [Bool] {
        try varints(&reader, wireType, name).map { $0 != 0 }
    }

    /// One occurrence of a repeated `float` field.
    mutating func floats(_ reader: inout ProtobufReader, _ wireType: WireType, _ name: String) throws -> [Float] {
        words32.removeAll(keepingCapacity: true)
        try reader.appendFixed32s(wireType, name, to: &words32)
        return words32.map(Float.init(bitPattern:))
    }

    /// One occurrence of a repeated `double` field.
    mutating func doubles(_ reader: inout ProtobufReader, _ wireType: WireType, _ name: String) throws -> [Double] {
        words64.removeAll(keepingCapacity: true)
        try reader.appendFixed64s(wireType, name, to: &words64)
        return words64.map(Double.init(bitPattern:))
    }
}
