/// A protobuf wire-format encoder into one growing byte buffer, for messages written by hand against a `.proto`
/// schema (the ONNX model): the counterpart of `ProtobufReader`.
///
/// A nested message needs its length before its bytes. Either build it in a writer of its own and append it with
/// `writeMessage(_:_:)` (simple; the bytes are copied once), or give it a `ProtobufMessage` conformance that knows
/// its `encodedSize` and append it with `writeMessage(_:_:)` straight into this buffer (no copy; what large messages
/// such as tensors do). Byte payloads (`writeBytes`, `writePackedFloats`) are appended with one copy, never element by
/// element, so hundreds of megabytes of weights cost a `memcpy`.
///
/// Fields are written in the order they are called; protobuf readers accept any order, and callers that want the
/// canonical serialisation (field-number order, as the reference implementations write) call them in that order.
public struct ProtobufWriter: Sendable {
    /// The encoded bytes so far.
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    // MARK: Raw encodings

    /// Appends `value` as a base-128 varint (1 to 10 bytes).
    public mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// Appends a field key: `number << 3 | wireType`.
    public mutating func writeTag(_ number: Int, _ wireType: ProtobufReader.WireType) {
        precondition(number > 0 && number <= 536_870_911, "protobuf field number \(number) is invalid")
        writeVarint(UInt64(number) << 3 | UInt64(wireType.rawValue))
    }

    /// Appends four little-endian bytes.
    public mutating func writeFixed32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends eight little-endian bytes.
    public mutating func writeFixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends bytes as they are, with no key or length (the body of a length-delimited field whose header
    /// `writeLengthDelimitedHeader` wrote).
    public mutating func writeRaw(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
    }

    public mutating func writeRaw(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }

    /// Appends the key and length of a length-delimited field whose `length` bytes the caller appends next.
    public mutating func writeLengthDelimitedHeader(_ number: Int, length: Int) {
        precondition(length >= 0, "negative length")
        writeTag(number, .lengthDelimited)
        writeVarint(UInt64(length))
    }

    // MARK: Fields

    /// A `uint64`/`uint32`/`bool`/enum field.
    public mutating func writeVarint(_ number: Int, _ value: UInt64) {
        writeTag(number, .varint)
        writeVarint(value)
    }

    /// An `int64`/`int32` field: a negative value takes ten bytes (two's complement), as protobuf specifies for both.
    public mutating func writeInt64(_ number: Int, _ value: Int64) {
        writeVarint(number, UInt64(bitPattern: value))
    }

    /// A `float` field (wire type fixed32).
    public mutating func writeFloat(_ number: Int, _ value: Float) {
        writeTag(number, .fixed32)
        writeFixed32(value.bitPattern)
    }

    /// A `double` field (wire type fixed64).
    public mutating func writeDouble(_ number: Int, _ value: Double) {
        writeTag(number, .fixed64)
        writeFixed64(value.bitPattern)
    }

    /// A `fixed32`/`sfixed32` field.
    public mutating func writeFixed32(_ number: Int, _ value: UInt32) {
        writeTag(number, .fixed32)
        writeFixed32(value)
    }

    /// A `fixed64`/`sfixed64` field.
    public mutating func writeFixed64(_ number: Int, _ value: UInt64) {
        writeTag(number, .fixed64)
        writeFixed64(value)
    }

    /// A `string` field, UTF-8.
    public mutating func writeString(_ number: Int, _ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeLengthDelimitedHeader(number, length: utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    /// A `bytes` field, its payload appended with one copy.
    public mutating func writeBytes(_ number: Int, _ value: [UInt8]) {
        writeLengthDelimitedHeader(number, length: value.count)
        bytes.append(contentsOf: value)
    }

    public mutating func writeBytes(_ number: Int, _ value: UnsafeRawBufferPointer) {
        writeLengthDelimitedHeader(number, length: value.count)
        bytes.append(contentsOf: value)
    }

    /// A nested message built in a writer of its own.
    public mutating func writeMessage(_ number: Int, _ message: ProtobufWriter) {
        writeBytes(number, message.bytes)
    }

    /// A repeated `string` field: one field per value.
    public mutating func writeStrings(_ number: Int, _ values: [String]) {
        for value in values { writeString(number, value) }
    }

    /// A repeated message field: one field per message, each encoded in place.
    public mutating func writeMessages(_ number: Int, _ messages: [some ProtobufMessage]) {
        for message in messages { writeMessage(number, message) }
    }

    /// A nested message encoded in place: its size first, then its fields straight into this buffer.
    public mutating func writeMessage(_ number: Int, _ message: some ProtobufMessage) {
        let size = message.encodedSize
        writeLengthDelimitedHeader(number, length: size)
        let start = bytes.count
        message.encode(into: &self)
        precondition(
            bytes.count - start == size,
            "\(type(of: message)).encodedSize is \(size), it encoded \(bytes.count - start)")
    }

    /// A packed `repeated int64`/`int32` field (one length-delimited run of varints). Writes nothing for no values,
    /// as protobuf does.
    public mutating func writePackedInt64s(_ number: Int, _ values: [Int64]) {
        guard !values.isEmpty else { return }
        writeLengthDelimitedHeader(number, length: values.reduce(0) { $0 + Self.varintSize(UInt64(bitPattern: $1)) })
        for value in values { writeVarint(UInt64(bitPattern: value)) }
    }

    /// A packed `repeated float` field: the floats' little-endian bytes in one copy. Writes nothing for no values.
    public mutating func writePackedFloats(_ number: Int, _ values: [Float]) {
        writePackedFixed(number, values) { $0.writeFixed32($1.bitPattern) }
    }

    /// A packed `repeated double` field. Writes nothing for no values.
    public mutating func writePackedDoubles(_ number: Int, _ values: [Double]) {
        writePackedFixed(number, values) { $0.writeFixed64($1.bitPattern) }
    }

    /// A packed run of fixed-width values: on a little-endian machine their bytes in one copy, elsewhere each
    /// written by `writeOne`. Writes nothing for no values.
    private mutating func writePackedFixed<Value>(
        _ number: Int, _ values: [Value], writeOne: (inout ProtobufWriter, Value) -> Void
    ) {
        guard !values.isEmpty else { return }
        writeLengthDelimitedHeader(number, length: values.count * MemoryLayout<Value>.size)
        #if _endian(little)
            values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
            for value in values { writeOne(&self, value) }
        #endif
    }

    // MARK: Sizes, for messages that encode in place

    /// Bytes of `value` as a varint.
    public static func varintSize(_ value: UInt64) -> Int {
        // 7 bits per byte; zero still takes one.
        (64 - value.leadingZeroBitCount + 6) / 7 + (value == 0 ? 1 : 0)
    }

    /// Bytes of field `number`'s key.
    public static func tagSize(_ number: Int) -> Int { varintSize(UInt64(number) << 3) }

    /// Bytes of a varint field.
    public static func varintFieldSize(_ number: Int, _ value: UInt64) -> Int { tagSize(number) + varintSize(value) }

    /// Bytes of an `int64`/`int32` field.
    public static func int64FieldSize(_ number: Int, _ value: Int64) -> Int {
        varintFieldSize(number, UInt64(bitPattern: value))
    }

    /// Bytes of a length-delimited field whose payload is `length` bytes.
    public static func lengthDelimitedFieldSize(_ number: Int, length: Int) -> Int {
        tagSize(number) + varintSize(UInt64(length)) + length
    }

    /// Bytes of a `string` field.
    public static func stringFieldSize(_ number: Int, _ value: String) -> Int {
        lengthDelimitedFieldSize(number, length: value.utf8.count)
    }

    /// Bytes of a nested message field.
    public static func messageFieldSize(_ number: Int, _ message: some ProtobufMessage) -> Int {
        lengthDelimitedFieldSize(number, length: message.encodedSize)
    }

    /// Bytes of a repeated `string` field.
    public static func stringsFieldSize(_ number: Int, _ values: [String]) -> Int {
        values.reduce(0) { $0 + stringFieldSize(number, $1) }
    }

    /// Bytes of a repeated message field.
    public static func messagesFieldSize(_ number: Int, _ messages: [some ProtobufMessage]) -> Int {
        messages.reduce(0) { $0 + messageFieldSize(number, $1) }
    }

    /// Bytes of a packed `repeated int64` field (zero for no values).
    public static func packedInt64sFieldSize(_ number: Int, _ values: [Int64]) -> Int {
        values.isEmpty
            ? 0
            : lengthDelimitedFieldSize(number, length: values.reduce(0) { $0 + varintSize(UInt64(bitPattern: $1)) })
    }

    /// Bytes of a packed `repeated float` field (zero for no values).
    public static func packedFloatsFieldSize(_ number: Int, _ values: [Float]) -> Int {
        values.isEmpty ? 0 : lengthDelimitedFieldSize(number, length: values.count * 4)
    }

    /// Bytes of a packed `repeated double` field (zero for no values).
    public static func packedDoublesFieldSize(_ number: Int, _ values: [Double]) -> Int {
        values.isEmpty ? 0 : lengthDelimitedFieldSize(number, length: values.count * 8)
    }
}

/// A message that encodes itself in place: it states its size, then writes exactly that many bytes.
///
/// `ProtobufWriter.writeMessage(_:_:)` checks the two agree (a disagreement is a bug in the conformance, and traps).
public protocol ProtobufMessage {
    /// Bytes `encode(into:)` writes.
    var encodedSize: Int { get }
    /// Appends the message's fields (no key or length of its own).
    func encode(into writer: inout ProtobufWriter)
}

extension ProtobufMessage {
    /// The message's bytes, in a buffer allocated once at the exact size.
    public func serializedBytes() -> [UInt8] {
        let size = encodedSize
        var writer = ProtobufWriter(reservingCapacity: size)
        encode(into: &writer)
        precondition(writer.count == size, "\(type(of: self)).encodedSize is \(size), it encoded \(writer.count)")
        return writer.bytes
    }
}

/// Where a message's fields go: a `ProtobufWriter` writes them, a `ProtobufSizeCounter` adds up the bytes they take.
/// A `ProtobufFields` message states its fields once, for both.
public protocol ProtobufFieldSink {
    mutating func writeString(_ number: Int, _ value: String)
    mutating func writeStrings(_ number: Int, _ values: [String])
    mutating func writeInt64(_ number: Int, _ value: Int64)
    mutating func writeVarint(_ number: Int, _ value: UInt64)
    mutating func writeFloat(_ number: Int, _ value: Float)
    mutating func writeBytes(_ number: Int, _ value: [UInt8])
    mutating func writeMessage(_ number: Int, _ message: some ProtobufMessage)
    mutating func writeMessages(_ number: Int, _ messages: [some ProtobufMessage])
}

extension ProtobufWriter: ProtobufFieldSink {}

/// The bytes the fields given to it would take when written (`ProtobufWriter`'s size functions, field by field).
public struct ProtobufSizeCounter: ProtobufFieldSink {
    public private(set) var size = 0

    public init() {}

    public mutating func writeString(_ number: Int, _ value: String) {
        size += ProtobufWriter.stringFieldSize(number, value)
    }

    public mutating func writeStrings(_ number: Int, _ values: [String]) {
        size += ProtobufWriter.stringsFieldSize(number, values)
    }

    public mutating func writeInt64(_ number: Int, _ value: Int64) {
        size += ProtobufWriter.int64FieldSize(number, value)
    }

    public mutating func writeVarint(_ number: Int, _ value: UInt64) {
        size += ProtobufWriter.varintFieldSize(number, value)
    }

    /// A `float` field: its key and four bytes.
    public mutating func writeFloat(_ number: Int, _ value: Float) { size += ProtobufWriter.tagSize(number) + 4 }

    public mutating func writeBytes(_ number: Int, _ value: [UInt8]) {
        size += ProtobufWriter.lengthDelimitedFieldSize(number, length: value.count)
    }

    public mutating func writeMessage(_ number: Int, _ message: some ProtobufMessage) {
        size += ProtobufWriter.messageFieldSize(number, message)
    }

    public mutating func writeMessages(_ number: Int, _ messages: [some ProtobufMessage]) {
        size += ProtobufWriter.messagesFieldSize(number, messages)
    }
}

/// A message whose fields are stated once (`writeFields(to:)`), so that its size and its bytes cannot disagree: the
/// size is what a `ProtobufSizeCounter` counts of them, the encoding what a `ProtobufWriter` writes.
public protocol ProtobufFields: ProtobufMessage {
    /// Gives each field to `sink`, in field order.
    func writeFields(to sink: inout some ProtobufFieldSink)
}

extension ProtobufFields {
    public var encodedSize: Int {
        var counter = ProtobufSizeCounter()
        writeFields(to: &counter)
        return counter.size
    }

    public func encode(into writer: inout ProtobufWriter) { writeFields(to: &writer) }
}
