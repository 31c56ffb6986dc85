import Testing

@testable import SafeTensors

struct JSONValueTests {
    struct ValidCase: CustomTestStringConvertible, Sendable {
        var name: String
        var text: String
        var expected: JSONValue
        var testDescription: String { name }
    }

    static let validCases: [ValidCase] = [
        .init(name: "null", text: "null", expected: .null),
        .init(name: "booleans", text: "[true,false]", expected: .array([.bool(true), .bool(false)])),
        .init(name: "integer", text: "-42", expected: .int(-42)),
        .init(name: "zero", text: "0", expected: .int(0)),
        .init(name: "Int.max", text: "9223372036854775807", expected: .int(Int.max)),
        .init(name: "Int.min", text: "-9223372036854775808", expected: .int(Int.min)),
        .init(name: "integer beyond Int", text: "18446744073709551615", expected: .double(0x1p64)),
        .init(name: "fraction", text: "0.001", expected: .double(0.001)),
        .init(name: "exponent", text: "1.001E-5", expected: .double(1.001e-5)),
        .init(name: "integer with exponent", text: "1e3", expected: .double(1000)),
        .init(name: "negative zero", text: "-0.0", expected: .double(-0.0)),
        .init(name: "whitespace around", text: " \t\r\n{ \"a\" : [ ] } \n ", expected: .object([("a", .array([]))])),
        .init(name: "simple escapes", text: #""\"\\\/\b\f\n\r\t""#, expected: .string("\"\\/\u{8}\u{c}\n\r\t")),
        .init(name: "unicode escape", text: #""caf\u00e9""#, expected: .string("café")),
        .init(name: "surrogate pair", text: #""\ud834\udd1e""#, expected: .string("\u{1D11E}")),
        .init(name: "raw UTF-8", text: "\"☕ 𝄞\"", expected: .string("☕ 𝄞")),
        .init(
            name: "object order kept", text: #"{"z":1,"a":{"y":null,"b":"x"}}"#,
            expected: .object([("z", .int(1)), ("a", .object([("y", .null), ("b", .string("x"))]))])),
        .init(
            name: "depth 64", text: String(repeating: "[", count: 64) + String(repeating: "]", count: 64),
            expected: (1..<64).reduce(JSONValue.array([])) { inner, _ in .array([inner]) }),
    ]

    @Test(arguments: validCases)
    func parsesValidJSON(_ testCase: ValidCase) throws {
        #expect(try JSONValue.parse(testCase.text) == testCase.expected)
    }

    struct InvalidCase: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var reasonContains: String
        var testDescription: String { name }

        init(_ name: String, _ text: String, _ reasonContains: String) {
            self.name = name
            self.bytes = Array(text.utf8)
            self.reasonContains = reasonContains
        }

        init(_ name: String, bytes: [UInt8], _ reasonContains: String) {
            self.name = name
            self.bytes = bytes
            self.reasonContains = reasonContains
        }
    }

    static let invalidCases: [InvalidCase] = [
        .init("empty", "", "end of input"),
        .init("only whitespace", "   ", "end of input"),
        .init("duplicate key", #"{"a":1,"b":2,"a":3}"#, "duplicate key 'a'"),
        .init("duplicate key after escape", #"{"a":1,"\u0061":2}"#, "duplicate key 'a'"),
        .init("trailing garbage", #"{"a":1} x"#, "after the JSON value"),
        .init("two values", "1 2", "after the JSON value"),
        .init("trailing comma in object", #"{"a":1,}"#, "string key"),
        .init("trailing comma in array", "[1,]", "unexpected character"),
        .init("unquoted key", "{a:1}", "string key"),
        .init("single quotes", "'a'", "unexpected character"),
        .init("leading zero", "01", "after the JSON value"),
        .init("leading plus", "+1", "unexpected character"),
        .init("bare dot", "1.", "digits after '.'"),
        .init("empty exponent", "1e", "digits in exponent"),
        .init("overflowing number", "1e400", "out of range"),
        .init("NaN literal", "NaN", "unexpected character"),
        .init("bad literal", "tru", "invalid literal"),
        .init("unterminated string", "\"abc", "unterminated string"),
        .init("control character", "\"a\nb\"", "control character"),
        .init("bad escape", #""\x""#, "invalid escape"),
        .init("short unicode escape", #""\u12""#, "unicode escape"),
        .init("lone high surrogate", #""\ud834""#, "unpaired surrogate"),
        .init("lone low surrogate", #""\udd1e""#, "unpaired surrogate"),
        .init("high surrogate then non-surrogate", #""\ud834\u0041""#, "unpaired surrogate"),
        .init("invalid UTF-8", bytes: [0x22, 0x61, 0xFF, 0x22], "invalid UTF-8"),
        .init("overlong UTF-8", bytes: [0x22, 0xC0, 0xAF, 0x22], "invalid UTF-8"),
        .init("UTF-8 surrogate", bytes: [0x22, 0xED, 0xA0, 0x80, 0x22], "invalid UTF-8"),
        .init("depth 65 arrays", String(repeating: "[", count: 65) + String(repeating: "]", count: 65), "nesting"),
        .init(
            "depth 65 objects", String(repeating: #"{"a":"#, count: 65) + "1" + String(repeating: "}", count: 65),
            "nesting"),
        .init("very deep", String(repeating: "[", count: 100_000), "nesting"),
    ]

    @Test(arguments: invalidCases)
    func rejectsInvalidJSON(_ testCase: InvalidCase) {
        #expect {
            try JSONValue.parse(testCase.bytes)
        } throws: { error in
            (error as? JSONError)?.reason.contains(testCase.reasonContains) == true
        }
    }

    @Test func reportsTheOffsetOfTheProblem() {
        #expect(throws: JSONError(offset: 13, reason: "duplicate key 'a'")) {
            try JSONValue.parse(#"{"a":1,"b":2,"a":3}"#)
        }
        #expect(throws: JSONError(offset: 2, reason: "invalid UTF-8")) {
            try JSONValue.parse([0x22, 0x61, 0xFF, 0x22])
        }
    }

    @Test func serialisesCompactlyInStoredOrder() throws {
        let value = JSONValue.object([
            ("format_version", .int(1)),
            ("epsilon", .double(0.001)),
            ("fused", .double(1.001e-5)),
            ("layers", .array([.object([("type", .string("dense")), ("bias", .null), ("on", .bool(true))])])),
            ("text", .string("tab\t \"quote\" back\\slash \u{1} café 𝄞")),
        ])
        let text = try value.serialized()
        #expect(
            text
                == #"{"format_version":1,"epsilon":0.001,"fused":1.001e-05,"layers":[{"type":"dense","bias":null,"on":true}],"text":"tab\t \"quote\" back\\slash \u0001 café 𝄞"}"#
        )
        #expect(try JSONValue.parse(text) == value)
        #expect(try value.serializedBytes() == Array(text.utf8))
    }

    @Test(arguments: [
        0.1, 1e-5, 1.001e-5, 123456789.125, -2.5e-300, 1.7976931348623157e308, Double.leastNonzeroMagnitude,
    ])
    func doublesRoundTripExactly(_ number: Double) throws {
        let parsed = try JSONValue.parse(try JSONValue.double(number).serialized())
        #expect(parsed.doubleValue?.bitPattern == number.bitPattern)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func refusesToSerialiseNonFiniteNumbers(_ number: Double) {
        #expect(throws: JSONError.self) {
            try JSONValue.array([.double(number)]).serialized()
        }
    }

    @Test func objectEqualityIsOrderSensitive() {
        let ab = JSONValue.object([("a", .int(1)), ("b", .int(2))])
        let ba = JSONValue.object([("b", .int(2)), ("a", .int(1))])
        #expect(ab != ba)
        #expect(ab == JSONValue.object([("a", .int(1)), ("b", .int(2))]))
        #expect(ab["b"] == .int(2))
        #expect(ab["c"] == nil)
        #expect(JSONValue.int(1) != JSONValue.double(1))
    }
}
