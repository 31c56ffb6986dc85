import TensorCore

/// The header of an `.npy` file: format version, element type, memory order and shape.
///
/// Layout (numpy's `format.py`): the magic `\x93NUMPY`, a major and minor version byte, the header length
/// (little-endian `UInt16` in 1.0, `UInt32` in 2.0 and 3.0), then a Python dict literal such as
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces and a newline.
public struct NPYHeader: Sendable, Equatable {
    /// The first six bytes of every NPY file.
    public static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// The largest header accepted; numpy's own `read_array` limit is 10 000 bytes by default.
    public static let maximumHeaderLength = 1 << 20

    public var majorVersion: UInt8
    public var minorVersion: UInt8
    /// The dtype string as written, e.g. `<f4`, `>i8`, `|b1`.
    public var descr: String
    public var dtype: DType
    /// True when the payload is big-endian (`>`), so elements are swapped on read.
    public var bigEndian: Bool
    /// True when the payload is in Fortran (column-major) order.
    public var fortranOrder: Bool
    public var shape: [Int]

    /// The payload's size in bytes, `shape` elements of `dtype` (checked for overflow when parsed).
    public var payloadByteCount: Int { Shape.byteCount(shape, dtype: dtype) ?? 0 }

    /// Parses the header at the start of `bytes`.
    ///
    /// - Parameters:
    ///   - bytes: the file's bytes, or at least its header; the payload need not be present.
    ///   - path: the file, for error messages.
    ///   - member: the archive member, for error messages.
    /// - Returns: the header and the offset from `bytes.startIndex` at which the payload starts.
    /// - Throws: `NPYError` for a bad magic string, unsupported version, oversized or truncated header,
    ///   malformed dict, unsupported dtype or invalid shape.
    public static func parse(_ bytes: ArraySlice<UInt8>, path: String = "", member: String? = nil) throws
        -> (header: NPYHeader, dataOffset: Int)
    {
        let preamble = try Preamble.read(bytes, path: path, member: member)
        let headerStart = bytes.startIndex + preamble.length
        let text = bytes[headerStart..<(headerStart + preamble.headerLength)]
        let literal: PythonLiteral
        do {
            literal = try PythonLiteralParser.parse(text, encoding: preamble.major == 3 ? .utf8 : .latin1)
        } catch {
            throw NPYError.malformedHeader(
                path: path, member: member, detail: "\(error.message) at header offset \(error.offset)")
        }
        let fields = try HeaderFields(literal, path: path, member: member)
        let header = NPYHeader(
            majorVersion: preamble.major, minorVersion: preamble.minor, descr: fields.descr,
            dtype: fields.dtype, bigEndian: fields.bigEndian, fortranOrder: fields.fortranOrder, shape: fields.shape)
        return (header, preamble.length + preamble.headerLength)
    }

    /// The number of bytes the magic, version, length and header occupy, read from the first bytes of a file.
    ///
    /// Needs 10 bytes (12 for versions 2.0 and 3.0); lets a compressed reader learn how much to inflate
    /// before the whole header is available.
    static func headerEnd(_ bytes: ArraySlice<UInt8>, path: String, member: String?) throws -> Int {
        let preamble = try Preamble.read(bytes, path: path, member: member, requireHeader: false)
        return preamble.length + preamble.headerLength
    }
}

/// The fixed-size part before the header text.
private struct Preamble {
    var major: UInt8
    var minor: UInt8
    /// Bytes taken by the magic, version and header length: 10 or 12.
    var length: Int
    var headerLength: Int

    static func read(_ bytes: ArraySlice<UInt8>, path: String, member: String?, requireHeader: Bool = true) throws
        -> Preamble
    {
        var reader = ByteReader(bytes)
        do {
            let magic = try reader.readBytes(NPYHeader.magic.count)
            guard magic.elementsEqual(NPYHeader.magic) else { throw NPYError.badMagic(path: path, member: member) }
            let major = try reader.readUInt8()
            let minor = try reader.readUInt8()
            let headerLength: Int
            switch (major, minor) {
            case (1, 0): headerLength = Int(try reader.readLittleEndian(UInt16.self))
            case (2, 0), (3, 0): headerLength = Int(try reader.readLittleEndian(UInt32.self))
            default: throw NPYError.unsupportedVersion(path: path, member: member, major: major, minor: minor)
            }
            guard headerLength <= NPYHeader.maximumHeaderLength else {
                throw NPYError.headerTooLarge(
                    path: path, member: member, length: headerLength, limit: NPYHeader.maximumHeaderLength)
            }
            let preamble = Preamble(major: major, minor: minor, length: reader.offset, headerLength: headerLength)
            if requireHeader {
                guard headerLength <= reader.remaining else {
                    throw NPYError.truncatedHeader(
                        path: path, member: member, needed: reader.offset + headerLength, available: bytes.count)
                }
            }
            return preamble
        } catch let truncated as TruncatedData {
            if !bytes.prefix(NPYHeader.magic.count).elementsEqual(NPYHeader.magic.prefix(bytes.count)) {
                throw NPYError.badMagic(path: path, member: member)
            }
            throw NPYError.truncatedHeader(
                path: path, member: member, needed: truncated.offset + truncated.needed, available: bytes.count)
        }
    }
}

/// The three keys of the header dict, validated.
private struct HeaderFields {
    static let keys = ["descr", "fortran_order", "shape"]

    var descr: String
    var dtype: DType
    var bigEndian: Bool
    var fortranOrder: Bool
    var shape: [Int]

    init(_ literal: PythonLiteral, path: String, member: String?) throws {
        func malformed(_ detail: String) -> NPYError {
            .malformedHeader(path: path, member: member, detail: detail)
        }
        guard case .dictionary(let entries) = literal else {
            throw malformed("expected a dict, found \(literal.pythonRepresentation.prefix(80))")
        }
        if let extra = entries.first(where: { !Self.keys.contains($0.key) }) {
            throw malformed("unexpected key '\(extra.key)'")
        }
        func value(_ key: String) throws -> PythonLiteral {
            guard let entry = entries.first(where: { $0.key == key }) else { throw malformed("missing key '\(key)'") }
            return entry.value
        }
        let descrValue = try value("descr")
        let orderValue = try value("fortran_order")
        let shapeValue = try value("shape")

        switch descrValue {
        case .string(let descr):
            self.descr = descr
            (dtype, bigEndian) = try NPYDescr.parse(descr, path: path, member: member)
        case .list:
            throw NPYError.unsupportedDType(
                path: path, member: member, descr: descrValue.pythonRepresentation,
                detail: "structured arrays are not supported")
        default:
            throw malformed("'descr' must be a string, found \(descrValue.pythonRepresentation)")
        }

        guard case .boolean(let fortranOrder) = orderValue else {
            throw malformed("'fortran_order' must be True or False, found \(orderValue.pythonRepresentation)")
        }
        self.fortranOrder = fortranOrder

        guard case .tuple(let dimensions) = shapeValue else {
            throw malformed("'shape' must be a tuple of integers, found \(shapeValue.pythonRepresentation)")
        }
        var shape: [Int] = []
        for dimension in dimensions {
            guard case .integer(let size) = dimension else {
                throw malformed("'shape' must be a tuple of integers, found \(shapeValue.pythonRepresentation)")
            }
            shape.append(size)
        }
        if shape.contains(where: { $0 < 0 }) {
            throw NPYError.invalidShape(path: path, member: member, shape: shape, detail: "negative dimension")
        }
        if Shape.byteCount(shape, dtype: dtype) == nil {
            throw NPYError.invalidShape(
                path: path, member: member, shape: shape, detail: "its size in bytes overflows a 64-bit integer")
        }
        self.shape = shape
    }
}

/// numpy's dtype strings (`<f4`, `>u2`, `|b1`) for the types a `Tensor` can hold.
enum NPYDescr {
    static let types: [String: DType] = [
        "f2": .float16, "f4": .float32, "f8": .float64,
        "i1": .int8, "i2": .int16, "i4": .int32, "i8": .int64,
        "u1": .uint8, "u2": .uint16, "u4": .uint32, "u8": .uint64,
        "b1": .bool,
    ]

    /// True on a big-endian host, where numpy's `=` (native order) means big-endian.
    static let nativeIsBigEndian = 1.bigEndian == 1

    /// The element type and byte order of `descr`, or `unsupportedDType` quoting it.
    static func parse(_ descr: String, path: String, member: String?) throws -> (DType, bigEndian: Bool) {
        var code = Substring(descr)
        var bigEndian = nativeIsBigEndian
        switch code.first {
        case "<": bigEndian = false
        case ">": bigEndian = true
        case "|", "=": bigEndian = nativeIsBigEndian
        default: break
        }
        if let first = code.first, "<>|=".contains(first) { code = code.dropFirst() }
        if let dtype = types[String(code)] { return (dtype, bigEndian) }
        throw NPYError.unsupportedDType(path: path, member: member, descr: descr, detail: explanation(for: code))
    }

    private static func explanation(for code: Substring) -> String {
        switch code.first {
        case "O": "object arrays need pickle and are not supported"
        case "M": "datetime arrays are not supported"
        case "m": "timedelta arrays are not supported"
        case "c": "complex arrays are not supported"
        case "U", "S", "a": "string arrays are not supported"
        case "V": "void and structured arrays are not supported"
        default: "supported: f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1"
        }
    }
}
