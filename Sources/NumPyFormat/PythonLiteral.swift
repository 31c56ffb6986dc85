/// A value of the Python literal subset that NPY headers use: dict, str, int, bool, None, tuple, list.
///
/// The header is parsed, never evaluated; anything outside this grammar is a syntax error.
indirect enum PythonLiteral: Equatable, Sendable {
    case string(String)
    case integer(Int)
    case boolean(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    /// Keys in source order; keys are strings, as in every NPY header.
    case dictionary([DictionaryEntry])

    struct DictionaryEntry: Equatable, Sendable {
        var key: String
        var value: PythonLiteral
    }

    /// The literal as Python's `repr` would print it, for quoting in messages.
    var pythonRepresentation: String {
        switch self {
        case .string(let value):
            "'" + value.replacingBackslashesAndQuotes() + "'"
        case .integer(let value):
            String(value)
        case .boolean(let value):
            value ? "True" : "False"
        case .none:
            "None"
        case .tuple(let items):
            items.count == 1
                ? "(" + items[0].pythonRepresentation + ",)"
                : "(" + items.map(\.pythonRepresentation).joined(separator: ", ") + ")"
        case .list(let items):
            "[" + items.map(\.pythonRepresentation).joined(separator: ", ") + "]"
        case .dictionary(let entries):
            "{"
                + entries.map { "'\($0.key.replacingBackslashesAndQuotes())': \($0.value.pythonRepresentation)" }
                .joined(separator: ", ") + "}"
        }
    }
}

extension String {
    fileprivate func replacingBackslashesAndQuotes() -> String {
        var out = ""
        for character in self {
            if character == "\\" || character == "'" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}

/// A syntax error in a Python literal, at a byte offset into the header text.
struct PythonLiteralSyntaxError: Error, Equatable {
    var offset: Int
    var message: String
}

/// A recursive-descent parser for `PythonLiteral` over the bytes of an NPY header.
struct PythonLiteralParser {
    /// How string contents are decoded: NPY 1.0 and 2.0 headers are latin-1, 3.0 headers UTF-8.
    enum Encoding {
        case latin1
        case utf8
    }

    /// Deep enough for any header numpy writes; shallow enough that a hostile header cannot exhaust the stack.
    static let maximumDepth = 32

    private let bytes: [UInt8]
    private let encoding: Encoding
    private var position = 0

    /// Parses `bytes` as exactly one literal, surrounded by optional whitespace.
    static func parse(_ bytes: some Collection<UInt8>, encoding: Encoding) throws(PythonLiteralSyntaxError)
        -> PythonLiteral
    {
        var parser = PythonLiteralParser(bytes: Array(bytes), encoding: encoding)
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == parser.bytes.count else {
            throw parser.error("unexpected \(parser.describeCurrent()) after the literal")
        }
        return value
    }

    private init(bytes: [UInt8], encoding: Encoding) {
        self.bytes = bytes
        self.encoding = encoding
    }

    private mutating func parseValue(depth: Int) throws(PythonLiteralSyntaxError) -> PythonLiteral {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth) levels") }
        skipWhitespace()
        guard let byte = current else { throw error("unexpected end of header") }
        switch byte {
        case UInt8(ascii: "{"):
            return try parseDictionary(depth: depth)
        case UInt8(ascii: "("):
            return try parseSequence(closing: UInt8(ascii: ")"), depth: depth)
        case UInt8(ascii: "["):
            return try parseSequence(closing: UInt8(ascii: "]"), depth: depth)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .integer(try parseInteger())
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "_"):
            return try parseKeyword()
        default:
            throw error("unexpected \(describeCurrent())")
        }
    }

    private mutating func parseDictionary(depth: Int) throws(PythonLiteralSyntaxError) -> PythonLiteral {
        position += 1  // {
        var entries: [PythonLiteral.DictionaryEntry] = []
        while true {
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                position += 1
                return .dictionary(entries)
            }
            let keyOffset = position
            guard case .string(let key) = try parseValue(depth: depth + 1) else {
                throw PythonLiteralSyntaxError(offset: keyOffset, message: "dictionary keys must be strings")
            }
            if entries.contains(where: { $0.key == key }) {
                throw PythonLiteralSyntaxError(offset: keyOffset, message: "duplicate key '\(key)'")
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            let value = try parseValue(depth: depth + 1)
            entries.append(.init(key: key, value: value))
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                position += 1
            } else if current != UInt8(ascii: "}") {
                throw error("expected ',' or '}' but found \(describeCurrent())")
            }
        }
    }

    /// A tuple or list. As in Python, `(x)` without a comma is `x` itself, not a tuple.
    private mutating func parseSequence(closing: UInt8, depth: Int) throws(PythonLiteralSyntaxError)
        -> PythonLiteral
    {
        position += 1  // ( or [
        var items: [PythonLiteral] = []
        var sawComma = false
        while true {
            skipWhitespace()
            if current == closing {
                position += 1
                break
            }
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            if current == UInt8(ascii: ",") {
                position += 1
                sawComma = true
            } else if current != closing {
                throw error("expected ',' or '\(Character(Unicode.Scalar(closing)))' but found \(describeCurrent())")
            }
        }
        if closing == UInt8(ascii: "]") { return .list(items) }
        if items.count == 1 && !sawComma { return items[0] }
        return .tuple(items)
    }

    private mutating func parseString() throws(PythonLiteralSyntaxError) -> String {
        let quote = bytes[position]
        let start = position
        position += 1
        var content: [UInt8] = []
        while true {
            guard let byte = current else {
                throw PythonLiteralSyntaxError(offset: start, message: "unterminated string")
            }
            position += 1
            if byte == quote { break }
            if byte == UInt8(ascii: "\n") {
                throw PythonLiteralSyntaxError(offset: start, message: "unterminated string")
            }
            if byte == UInt8(ascii: "\\") {
                guard let escaped = current else {
                    throw PythonLiteralSyntaxError(offset: start, message: "unterminated string")
                }
                switch escaped {
                case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): content.append(escaped)
                case UInt8(ascii: "n"): content.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "t"): content.append(UInt8(ascii: "\t"))
                default: throw error("unsupported escape sequence in string")
                }
                position += 1
            } else {
                content.append(byte)
            }
        }
        switch encoding {
        case .latin1:
            return String(String.UnicodeScalarView(content.map { Unicode.Scalar($0) }))
        case .utf8:
            guard let text = String(validating: content, as: UTF8.self) else {
                throw PythonLiteralSyntaxError(offset: start, message: "string is not valid UTF-8")
            }
            return text
        }
    }

    /// A decimal integer, optionally negative, with Python 2's `L` suffix tolerated (old numpy wrote `(3L,)`).
    private mutating func parseInteger() throws(PythonLiteralSyntaxError) -> Int {
        let start = position
        let negative = current == UInt8(ascii: "-")
        if negative { position += 1 }
        var magnitude: UInt = 0
        var digits = 0
        while let byte = current, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            let (scaled, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = scaled.addingReportingOverflow(UInt(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else {
                throw PythonLiteralSyntaxError(offset: start, message: "integer out of range")
            }
            magnitude = sum
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw PythonLiteralSyntaxError(offset: start, message: "expected a digit after '-'") }
        if current == UInt8(ascii: "L") || current == UInt8(ascii: "l") { position += 1 }
        if negative {
            guard magnitude <= UInt(Int.max) + 1 else {
                throw PythonLiteralSyntaxError(offset: start, message: "integer out of range")
            }
            return magnitude == UInt(Int.max) + 1 ? Int.min : -Int(magnitude)
        }
        guard let value = Int(exactly: magnitude) else {
            throw PythonLiteralSyntaxError(offset: start, message: "integer out of range")
        }
        return value
    }

    private mutating func parseKeyword() throws(PythonLiteralSyntaxError) -> PythonLiteral {
        let start = position
        while let byte = current, Self.isIdentifierByte(byte) { position += 1 }
        let word = String(decoding: bytes[start..<position], as: UTF8.self)
        switch word {
        case "True": return .boolean(true)
        case "False": return .boolean(false)
        case "None": return .none
        default: throw PythonLiteralSyntaxError(offset: start, message: "unexpected name '\(word)'")
        }
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = current,
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t")
                || byte == UInt8(ascii: "\r")
        {
            position += 1
        }
    }

    private mutating func expect(_ byte: UInt8) throws(PythonLiteralSyntaxError) {
        guard current == byte else {
            throw error("expected '\(Character(Unicode.Scalar(byte)))' but found \(describeCurrent())")
        }
        position += 1
    }

    private func describeCurrent() -> String {
        guard let byte = current else { return "end of header" }
        if byte >= 0x20 && byte < 0x7f { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x" + String(byte, radix: 16)
    }

    private func error(_ message: String) -> PythonLiteralSyntaxError {
        PythonLiteralSyntaxError(offset: position, message: message)
    }
}
