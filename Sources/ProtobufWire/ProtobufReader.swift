import TensorCore

/// A protobuf wire-format cursor over one message's bytes, for decoders written by hand against a `.proto` schema
/// (TensorFlow's bundle, graph and SavedModel messages): every length is checked against what remains, every varint
/// against its ten-byte limit, so a malformed message throws `Malformed` and never reads past its bytes.
public struct ProtobufReader {
    public enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    private var reader: ByteReader

    public init(_ bytes: ArraySlice<UInt8>) { reader = ByteReader(bytes) }

    public var isAtEnd: Bool { reader.isAtEnd }

    /// The next field's number and wire type, or nil at the end of the message.
    public mutating func nextField() throws -> (number: Int, wireType: WireType)? {
        guard !reader.isAtEnd else { return nil }
        let key = try Self.wrap { try reader.readVarint() }
        let number = key >> 3
        guard number > 0, number <= 536_870_911 else { throw Malformed(reason: "field number \(number) is invalid") }
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw Malformed(reason: "field \(number) has unsupported wire type \(key & 7)")
        }
        return (Int(number), wireType)
    }

    public mutating func varint() throws -> UInt64 { try Self.wrap { try reader.readVarint() } }

    public mutating func fixed32() throws -> UInt32 { try Self.wrap { try reader.readLittleEndian(UInt32.self) } }

    public mutating func fixed64() throws -> UInt64 { try Self.wrap { try reader.readLittleEndian(UInt64.self) } }

    public mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(reader.remaining) else {
            throw Malformed(reason: "a field claims \(length) bytes, \(reader.remaining) remain")
        }
        return try Self.wrap { try reader.readBytes(Int(length)) }
    }

    /// A varint field holding a protobuf `int64`/`int32` (negative values are ten-byte two's complement).
    public mutating func int64() throws -> Int64 { Int64(bitPattern: try varint()) }

    /// Skips a field of a number this reader does not need.
    public mutating func skip(_ wireType: WireType) throws {
        switch wireType {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .lengthDelimited: _ = try lengthDelimited()
        case .fixed32: _ = try fixed32()
        }
    }

    /// Checks that field `number` arrived with the wire type its schema gives it.
    public static func expect(_ wireType: WireType, _ actual: WireType, field number: Int, _ name: String) throws {
        guard wireType == actual else {
            throw Malformed(
                reason: "field \(number) (\(name)) has wire type \(actual.rawValue), expected \(wireType.rawValue)")
        }
    }

    private static func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as TruncatedData {
            throw Malformed(reason: "message ends inside a field (\(error))")
        } catch let error as VarintOverflow {
            throw Malformed(reason: "\(error)")
        }
    }
}
