/// A JSON value whose objects keep their members in order.
///
/// Objects are `[(String, JSONValue)]` rather than a dictionary so that serialising a value gives the same
/// bytes every time and in the order the author chose (the `tfparity` metadata string is compared and hashed
/// by users). Equality is structural and therefore order-sensitive for objects: two objects with the same
/// members in different orders serialise differently, so they are not equal.
///
/// Numbers written without a fraction or exponent that fit `Int` parse as `.int`; every other number parses
/// as `.double`. `.int(1)` and `.double(1)` are different values.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        // Bitwise, so a value equals itself even when it is NaN (which only a caller can construct).
        case (.double(let a), .double(let b)): a.bitPattern == b.bitPattern || a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }
}

// MARK: - Accessors

extension JSONValue {
    /// The member named `key` of an object (`nil` for a missing key or a non-object).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, when this is a number written as an integer that fits `Int`.
    public var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The number as `Double`, for `.int` and `.double` alike.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    /// The Boolean, when this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members in order, when this is an object.
    public var objectMembers: [(String, JSONValue)]? {
        if case .object(let value) = self { return value }
        return nil
    }
}

// MARK: - Errors

/// Why a JSON text was rejected, or why a value cannot be written as JSON.
public struct JSONError: Error, Equatable, CustomStringConvertible {
    /// Byte offset into the input where the problem was found (0 for serialisation errors).
    public var offset: Int
    /// What is wrong, e.g. `duplicate key 'a'`.
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(reason) at byte \(offset)" }
}

// MARK: - Parsing

extension JSONValue {
    /// The deepest nesting of arrays and objects `parse` accepts; deeper input is rejected rather than
    /// risking the stack on a hostile file.
    public static let maximumDepth = 64

    /// Parses one JSON value (RFC 8259) from UTF-8 bytes, strictly.
    ///
    /// Unlike `JSONSerialization`, this rejects invalid UTF-8, duplicate keys in an object, lone surrogate
    /// escapes, numbers that overflow `Double`, nesting deeper than `maximumDepth`, and anything but
    /// whitespace after the value.
    /// - Throws: `JSONError` with the byte offset of the problem.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONError) -> JSONValue {
        let array = Array(bytes)
        // Validating once up front lets string decoding below copy raw byte runs without rechecking them.
        if String(validating: array, as: UTF8.self) == nil {
            throw JSONError(offset: firstInvalidUTF8Offset(array), reason: "invalid UTF-8")
        }
        let result: Result<JSONValue, JSONError> = array.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(buffer)
            do throws(JSONError) {
                parser.skipWhitespace()
                let value = try parser.parseValue(depth: 0)
                parser.skipWhitespace()
                guard parser.position == buffer.count else {
                    throw parser.error("unexpected data after the JSON value")
                }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses one JSON value from a string.
    public static func parse(_ text: String) throws(JSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// The offset of the first byte that is not part of a well-formed UTF-8 sequence.
    private static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
        var offset = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput, .error: return offset
            }
        }
    }
}

/// A recursive-descent parser over validated UTF-8.
private struct JSONParser: ~Copyable {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    func error(_ reason: String) -> JSONError {
        JSONError(offset: position, reason: reason)
    }

    var current: UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        guard let byte = current else { throw error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(Unicode.Scalar(byte))'")
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count else { throw error("invalid literal") }
        for i in 0..<count where bytes[position + i] != literal.utf8Start[i] {
            throw error("invalid literal")
        }
        position += count
    }

    mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else {
            throw error("nesting deeper than \(JSONValue.maximumDepth)")
        }
        position += 1  // "{"
        var members: [(String, JSONValue)] = []
        var seen: Set<String> = []
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = position
            let key = try parseString()
            guard seen.insert(key).inserted else {
                throw JSONError(offset: keyOffset, reason: "duplicate key '\(key)'")
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after key") }
            position += 1
            skipWhitespace()
            members.append((key, try parseValue(depth: depth)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return .object(members)
            case nil: throw error("unexpected end of input in object")
            default: throw error("expected ',' or '}' in object")
            }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= JSONValue.maximumDepth else {
            throw error("nesting deeper than \(JSONValue.maximumDepth)")
        }
        position += 1  // "["
        var elements: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return .array(elements)
            case nil: throw error("unexpected end of input in array")
            default: throw error("expected ',' or ']' in array")
            }
        }
    }

    mutating func parseString() throws(JSONError) -> String {
        position += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                // The input was validated as UTF-8 and escapes append whole scalars, so this cannot repair.
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                position += 1
                try appendEscape(to: &utf8)
            case 0x00..<0x20:
                throw error("unescaped control character in string")
            default:
                utf8.append(byte)
                position += 1
            }
        }
    }

    mutating func appendEscape(to utf8: inout [UInt8]) throws(JSONError) {
        guard let byte = current else { throw error("unterminated escape") }
        position += 1
        let simple: UInt8? =
            switch byte {
            case UInt8(ascii: "\""): UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): UInt8(ascii: "\\")
            case UInt8(ascii: "/"): UInt8(ascii: "/")
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            default: nil
            }
        if let simple {
            utf8.append(simple)
            return
        }
        guard byte == UInt8(ascii: "u") else {
            position -= 1
            throw error("invalid escape '\\\(Unicode.Scalar(byte))'")
        }
        let escapeOffset = position - 2
        let first = try parseHex4()
        var codePoint = UInt32(first)
        switch first {
        case 0xD800...0xDBFF:
            // A high surrogate must be followed by an escaped low surrogate; together they are one scalar.
            guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                bytes[position + 1] == UInt8(ascii: "u")
            else {
                throw JSONError(offset: escapeOffset, reason: "unpaired surrogate escape")
            }
            position += 2
            let second = try parseHex4()
            guard (0xDC00...0xDFFF).contains(second) else {
                throw JSONError(offset: escapeOffset, reason: "unpaired surrogate escape")
            }
            codePoint = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
        case 0xDC00...0xDFFF:
            throw JSONError(offset: escapeOffset, reason: "unpaired surrogate escape")
        default:
            break
        }
        guard let scalar = Unicode.Scalar(codePoint) else {
            throw JSONError(offset: escapeOffset, reason: "invalid unicode escape")
        }
        utf8.append(contentsOf: scalar.utf8)
    }

    mutating func parseHex4() throws(JSONError) -> UInt16 {
        guard bytes.count - position >= 4 else { throw error("truncated unicode escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit in unicode escape")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = position
        var isInteger = true
        if current == UInt8(ascii: "-") { position += 1 }
        // Integer part: "0" or a non-zero digit followed by digits (no leading zeros).
        switch current ?? 0 {
        case UInt8(ascii: "0"): position += 1
        case UInt8(ascii: "1")...UInt8(ascii: "9"): skipDigits()
        default: throw error("invalid number")
        }
        if current == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard skipDigits() else { throw error("expected digits after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard skipDigits() else { throw error("expected digits in exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger, let value = Int(text) {
            return .int(value)
        }
        guard let value = Double(text), value.isFinite else {
            throw JSONError(offset: start, reason: "number '\(text)' is out of range")
        }
        return .double(value)
    }

    /// Skips a run of digits; returns whether there was at least one.
    @discardableResult
    mutating func skipDigits() -> Bool {
        let start = position
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            position += 1
        }
        return position > start
    }
}

// MARK: - Serialising

extension JSONValue {
    /// The compact JSON text of this value: no whitespace, object members in their stored order.
    ///
    /// Strings escape `"`, `\` and control characters and keep every other character as UTF-8. Doubles use
    /// Swift's shortest round-tripping form (`0.001`, `1e-05`), so `parse(serialized())` gives the value back.
    /// - Throws: `JSONError` when a double is NaN or infinite, which JSON cannot represent.
    public func serialized() throws(JSONError) -> String {
        String(decoding: try serializedBytes(), as: UTF8.self)
    }

    /// The compact JSON text of this value as UTF-8 bytes; see `serialized()`.
    public func serializedBytes() throws(JSONError) -> [UInt8] {
        var out: [UInt8] = []
        try Self.write(self, to: &out)
        return out
    }

    private static func write(_ value: JSONValue, to out: inout [UInt8]) throws(JSONError) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number): out.append(contentsOf: String(number).utf8)
        case .double(let number):
            guard number.isFinite else {
                throw JSONError(offset: 0, reason: "\(number) cannot be written as JSON")
            }
            out.append(contentsOf: number.description.utf8)
        case .string(let text): writeString(text, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try write(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, member)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                try write(member, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ text: String, to out: inout [UInt8]) {
        let hexDigits = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
