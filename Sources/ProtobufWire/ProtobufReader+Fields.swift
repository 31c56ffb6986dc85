import TensorCore

/// Typed field readers on top of the wire cursor: the scalar types `.proto` files use, UTF-8 strings, and repeated
/// scalars in both encodings a writer may choose (packed in one length-delimited field, or one field per value).
extension ProtobufReader {
    /// A `float` field (wire type fixed32).
    public mutating func float() throws -> Float { Float(bitPattern: try fixed32()) }

    /// A `double` field (wire type fixed64).
    public mutating func double() throws -> Double { Double(bitPattern: try fixed64()) }

    /// A `bool` field: any non-zero varint is true, as protobuf's own parsers read it.
    public mutating func bool() throws -> Bool { try varint() != 0 }

    /// An `int32` (or enum) field. Writers sign-extend negative values to ten bytes, so a value outside `Int32`
    /// means the message is corrupt, not that it holds a big number.
    public mutating func int32(_ name: String) throws -> Int32 {
        let value = try int64()
        guard let narrow = Int32(exactly: value) else {
            throw Malformed(reason: "\(name) is \(value), outside the range of int32")
        }
        return narrow
    }

    /// A `bytes` field, copied out of the message.
    public mutating func bytes() throws -> [UInt8] { Array(try lengthDelimited()) }

    /// A `string` field; protobuf requires UTF-8, and a name that is not is a corrupt file, not a name to show.
    public mutating func string(_ name: String) throws -> String {
        let bytes = try lengthDelimited()
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Malformed(reason: "\(name) is not valid UTF-8")
        }
        return text
    }

    /// Appends a repeated varint field's values: one value (wire type varint) or a packed run (length-delimited).
    public mutating func appendVarints(_ wireType: WireType, _ name: String, to values: inout [UInt64]) throws {
        switch wireType {
        case .varint:
            values.append(try varint())
        case .lengthDelimited:
            var packed = ProtobufReader(try lengthDelimited())
            while !packed.isAtEnd { values.append(try packed.varint()) }
        default:
            throw Malformed(reason: "\(name) has wire type \(wireType.rawValue), expected a varint or a packed run")
        }
    }

    /// Appends a repeated fixed32 field's values (`float`, `fixed32`), one or packed; a packed run must hold whole
    /// values.
    public mutating func appendFixed32s(_ wireType: WireType, _ name: String, to values: inout [UInt32]) throws {
        try appendFixed(wireType, .fixed32, name, to: &values) { try $0.fixed32() }
    }

    /// Appends a repeated fixed64 field's values (`double`, `fixed64`), one or packed.
    public mutating func appendFixed64s(_ wireType: WireType, _ name: String, to values: inout [UInt64]) throws {
        try appendFixed(wireType, .fixed64, name, to: &values) { try $0.fixed64() }
    }

    /// Appends a repeated fixed-width field's values: one (wire type `single`, read by `read`) or a packed run of
    /// whole values.
    private mutating func appendFixed<Value: FixedWidthInteger>(
        _ wireType: WireType, _ single: WireType, _ name: String, to values: inout [Value],
        read: (inout ProtobufReader) throws -> Value
    ) throws {
        let width = Value.bitWidth / 8
        switch wireType {
        case single:
            values.append(try read(&self))
        case .lengthDelimited:
            let bytes = try lengthDelimited()
            guard bytes.count % width == 0 else {
                throw Malformed(reason: "\(name) is a packed run of \(bytes.count) bytes, not a multiple of \(width)")
            }
            var packed = ProtobufReader(bytes)
            values.reserveCapacity(values.count + bytes.count / width)
            while !packed.isAtEnd { values.append(try read(&packed)) }
        default:
            throw Malformed(reason: "\(name) has wire type \(wireType.rawValue), expected \(single) or a packed run")
        }
    }

    /// How many times field `number` occurs in `bytes`, found by skipping every field: lets a decoder refuse a
    /// message with too many elements before it allocates any of them.
    public static func count(field number: Int, in bytes: ArraySlice<UInt8>) throws -> Int {
        var reader = ProtobufReader(bytes)
        var count = 0
        while let (field, wireType) = try reader.nextField() {
            if field == number { count += 1 }
            try reader.skip(wireType)
        }
        return count
    }
}
