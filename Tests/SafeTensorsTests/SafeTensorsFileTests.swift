import Foundation
import TensorCore
import TestSupport
import Testing

@testable import SafeTensors

/// A safetensors file assembled by hand: the header text is used exactly as given (no padding).
func safetensorsBytes(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    safetensorsBytes(header: Array(header.utf8), data: data, declaredLength: declaredLength)
}

func safetensorsBytes(header: [UInt8], data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
    let length = declaredLength ?? UInt64(header.count)
    return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + header + data
}

struct SafeTensorsFileTests {
    // MARK: Reference file

    @Test func readsTheReferencePackagesFileExactly() throws {
        let path = fixture("readers/safetensors/reference.safetensors").path
        let expected = try JSONValue.parse(
            try [UInt8](Data(contentsOf: fixture("readers/safetensors/expected.json"))))
        let file = try SafeTensorsFile(path: path)

        var expectedMetadata: [String: String] = [:]
        for (key, value) in expected["metadata"]?.objectMembers ?? [] {
            expectedMetadata[key] = value.stringValue
        }
        #expect(!expectedMetadata.isEmpty)
        #expect(file.metadata == expectedMetadata)
        #expect(file.metadata["tfparity"]?.contains("café ☕ 𝄞") == true)
        #expect(file.names == expected["order"]?.arrayValue?.compactMap(\.stringValue))

        let tensors = expected["tensors"]?.objectMembers ?? []
        #expect(tensors.count == 16)
        #expect(Set(tensors.map(\.0)) == Set(file.names))
        #expect(Set(tensors.compactMap { $0.1["dtype"]?.stringValue }) == Set(DType.allCases.map(\.rawValue)))
        for (name, spec) in tensors {
            let tensor = try file.tensor(named: name)
            let info = try #require(file.info(name))
            #expect(tensor.dtype.rawValue == spec["dtype"]?.stringValue, "\(name)")
            #expect(info.dtype == tensor.dtype, "\(name)")
            #expect(tensor.shape == spec["shape"]?.arrayValue?.compactMap(\.intValue), "\(name)")
            #expect(info.shape == tensor.shape, "\(name)")
            #expect(hex(tensor.bytes) == spec["hex"]?.stringValue, "\(name)")
            let values = (spec["values"]?.arrayValue ?? []).compactMap { value in
                value.boolValue.map { $0 ? 1.0 : 0.0 } ?? value.doubleValue
            }
            // Zero tolerance: every value in the fixture is exactly representable as Double.
            expectClose(tensor.doubleValues(), values, atol: 0, rtol: 0)
        }
    }

    @Test func reportsMissingTensorsAndFiles() throws {
        let path = fixture("readers/safetensors/reference.safetensors").path
        let file = try SafeTensorsFile(path: path)
        #expect(file.info("nope") == nil)
        #expect(throws: SafeTensorsError.tensorNotFound(path: path, tensor: "nope")) {
            try file.tensor(named: "nope")
        }
        #expect(throws: SafeTensorsError.unreadable(path: "/nonexistent/x.safetensors", reason: "no such file")) {
            try SafeTensorsFile(path: "/nonexistent/x.safetensors")
        }
        let directory = fixture("readers/safetensors").path
        #expect(throws: SafeTensorsError.unreadable(path: directory, reason: "is a directory")) {
            try SafeTensorsFile(path: directory)
        }
    }

    // MARK: Accepted edge cases

    @Test func acceptsPaddingEmptyTensorsAndNoTensors() throws {
        let padded = safetensorsBytes(
            header:
                #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}   "#,
            data: [7])
        let file = try SafeTensorsFile(bytes: padded, path: "p.safetensors")
        #expect(file.names == ["a", "b"])
        #expect(try file.tensor(named: "b").bytes == [7])
        #expect(try file.tensor(named: "a").bytes == [])
        #expect(file.metadata == [:])

        let empty = try SafeTensorsFile(bytes: safetensorsBytes(header: "{}", data: []), path: "e.safetensors")
        #expect(empty.names == [])
        let metadataOnly = try SafeTensorsFile(
            bytes: safetensorsBytes(header: #"{"__metadata__":{"k":"v"}}"#, data: []), path: "m.safetensors")
        #expect(metadataOnly.metadata == ["k": "v"])
    }

    @Test func listsNamesInDataOrderNotHeaderOrder() throws {
        let bytes = safetensorsBytes(
            header:
                #"{"late":{"dtype":"U8","shape":[1],"data_offsets":[2,3]},"early":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#,
            data: [1, 2, 3])
        let file = try SafeTensorsFile(bytes: bytes, path: "o.safetensors")
        #expect(file.names == ["early", "late"])
        #expect(try file.tensor(named: "late").bytes == [3])
    }

    // MARK: Malformed files

    enum Expectation: Sendable {
        case error(SafeTensorsError)
        /// An `invalidHeader` error whose reason contains the text.
        case invalidHeader(containing: String)
    }

    struct MalformedCase: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var expected: Expectation
        var testDescription: String { name }
    }

    static let path = "bad.safetensors"
    static let goodHeader =
        #"{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}"#
    static let goodData: [UInt8] = Array(0..<11)

    /// The good file with one substring of its header replaced.
    static func replacing(_ target: String, with replacement: String, data: [UInt8] = goodData) -> [UInt8] {
        precondition(goodHeader.contains(target), "test case does not change the header")
        return safetensorsBytes(header: goodHeader.replacingOccurrences(of: target, with: replacement), data: data)
    }

    static let malformedCases: [MalformedCase] = [
        .init(
            name: "good file (control)", bytes: safetensorsBytes(header: goodHeader, data: goodData),
            expected: .error(.tensorNotFound(path: path, tensor: "control"))),
        .init(name: "shorter than 8 bytes", bytes: [1, 0, 0], expected: .error(.fileTooSmall(path: path, size: 3))),
        .init(
            name: "header length over 100 MB",
            bytes: safetensorsBytes(header: goodHeader, data: goodData, declaredLength: 100_000_001),
            expected: .error(.headerTooLarge(path: path, length: 100_000_001))),
        .init(
            name: "header length near UInt64.max",
            bytes: safetensorsBytes(header: goodHeader, data: goodData, declaredLength: UInt64.max),
            expected: .error(.headerTooLarge(path: path, length: UInt64.max))),
        .init(
            name: "header length beyond the file",
            bytes: safetensorsBytes(header: "{}", data: [], declaredLength: 3),
            expected: .error(.headerBeyondFile(path: path, length: 3, fileSize: 10))),
        .init(
            name: "header not UTF-8",
            bytes: safetensorsBytes(
                header: Array(#"{"__metadata__":{"k":""#.utf8) + [0xFF] + Array(#""}}"#.utf8), data: []),
            expected: .invalidHeader(containing: "not UTF-8")),
        .init(
            name: "header not JSON", bytes: safetensorsBytes(header: #"{"a":"#, data: []),
            expected: .invalidHeader(containing: "not valid JSON")),
        .init(
            name: "header not an object", bytes: safetensorsBytes(header: "[]", data: []),
            expected: .invalidHeader(containing: "not a JSON object")),
        .init(
            name: "header starts with whitespace", bytes: safetensorsBytes(header: " {}", data: []),
            expected: .invalidHeader(containing: "start with '{'")),
        .init(
            name: "duplicate tensor key",
            bytes: replacing(#""b":{"dtype":"U8""#, with: #""a":{"dtype":"U8""#),
            expected: .invalidHeader(containing: "duplicate key 'a'")),
        .init(
            name: "duplicate key inside an entry",
            bytes: replacing(#""shape":[3]"#, with: #""shape":[3],"shape":[3]"#),
            expected: .invalidHeader(containing: "duplicate key 'shape'")),
        .init(
            name: "unknown dtype", bytes: replacing(#""dtype":"U8""#, with: #""dtype":"F8""#),
            expected: .error(.unknownDType(path: path, tensor: "b", dtype: "F8"))),
        .init(
            name: "shape overflow",
            bytes: replacing(#""shape":[2]"#, with: #""shape":[4294967296,4294967296]"#),
            expected: .error(.invalidShape(path: path, tensor: "a", shape: [4_294_967_296, 4_294_967_296]))),
        .init(
            name: "negative dimension", bytes: replacing(#""shape":[2]"#, with: #""shape":[-2]"#),
            expected: .error(.invalidShape(path: path, tensor: "a", shape: [-2]))),
        .init(
            name: "dimension beyond Int",
            bytes: replacing(#""shape":[2]"#, with: #""shape":[18446744073709551616]"#),
            expected: .error(
                .invalidTensorEntry(path: path, tensor: "a", reason: "'shape' holds something other than integers"))),
        .init(
            name: "size not shape × dtype",
            bytes: replacing(#""shape":[3]"#, with: #""shape":[4]"#),
            expected: .error(.sizeMismatch(path: path, tensor: "b", expected: 4, actual: 3))),
        .init(
            name: "overlapping offsets",
            bytes: replacing(#"[8,11]"#, with: "[6,9]", data: Array(0..<9)),
            expected: .error(.overlappingTensors(path: path, tensor: "b", previous: "a"))),
        .init(
            name: "gap between tensors",
            bytes: replacing(#"[8,11]"#, with: "[9,12]", data: Array(0..<12)),
            expected: .error(.gapBeforeTensor(path: path, tensor: "b", expectedBegin: 8, begin: 9))),
        .init(
            name: "gap before the first tensor",
            bytes: safetensorsBytes(header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: [0, 1]),
            expected: .error(.gapBeforeTensor(path: path, tensor: "a", expectedBegin: 0, begin: 1))),
        .init(
            name: "offsets out of bounds",
            bytes: replacing("[8,11]", with: "[8,11]", data: Array(0..<10)),
            expected: .error(.offsetsOutOfBounds(path: path, tensor: "b", end: 11, dataSize: 10))),
        .init(
            name: "offsets decreasing",
            bytes: replacing("[8,11]", with: "[11,8]"),
            expected: .error(
                .invalidTensorEntry(
                    path: path, tensor: "b",
                    reason: "data_offsets [11, 8] are not an increasing pair of non-negative integers"))),
        .init(
            name: "trailing bytes", bytes: replacing("[8,11]", with: "[8,11]", data: Array(0..<12)),
            expected: .error(.trailingBytes(path: path, count: 1))),
        .init(
            name: "data but no tensors",
            bytes: safetensorsBytes(header: "{}", data: [0]),
            expected: .error(.trailingBytes(path: path, count: 1))),
        .init(
            name: "non-string metadata value",
            bytes: replacing(#"{"k":"v"}"#, with: #"{"k":1}"#),
            expected: .error(.invalidMetadata(path: path, reason: "value of 'k' is not a string"))),
        .init(
            name: "metadata not an object",
            bytes: replacing(#"{"k":"v"}"#, with: #"["k"]"#),
            expected: .error(.invalidMetadata(path: path, reason: "not an object of strings"))),
        .init(
            name: "extra field in entry",
            bytes: replacing(#""shape":[3]"#, with: #""shape":[3],"offset":0"#),
            expected: .error(.invalidTensorEntry(path: path, tensor: "b", reason: "unexpected field 'offset'"))),
        .init(
            name: "missing field",
            bytes: replacing(#""dtype":"U8","#, with: ""),
            expected: .error(.invalidTensorEntry(path: path, tensor: "b", reason: "missing 'dtype'"))),
        .init(
            name: "entry not an object",
            bytes: replacing(#"{"dtype":"U8","shape":[3],"data_offsets":[8,11]}"#, with: "[]"),
            expected: .error(.invalidTensorEntry(path: path, tensor: "b", reason: "entry is not an object"))),
        .init(
            name: "offsets not a pair",
            bytes: replacing("[8,11]", with: "[8,11,12]"),
            expected: .error(
                .invalidTensorEntry(path: path, tensor: "b", reason: "'data_offsets' is not a pair of integers"))),
    ]

    @Test(arguments: malformedCases)
    func rejectsMalformedFiles(_ testCase: MalformedCase) throws {
        let path = Self.path
        do {
            let file = try SafeTensorsFile(bytes: testCase.bytes, path: path)
            // The control case reads; asking for a missing tensor gives its expected error.
            _ = try file.tensor(named: "control")
            Issue.record("no error")
        } catch {
            #expect(error.path == path)
            #expect(error.description.hasPrefix("\(path): "))
            switch testCase.expected {
            case .error(let expected):
                #expect(error == expected)
                if let member = expected.member {
                    #expect(error.description.hasPrefix("\(path): \(member): "))
                }
            case .invalidHeader(let text):
                guard case .invalidHeader(_, let reason) = error else {
                    Issue.record("expected invalidHeader, got \(error)")
                    return
                }
                #expect(reason.contains(text), "\(reason)")
            }
        }
    }

    @Test func rejectsAHeaderOverTheLimitBeforeReadingIt() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("huge.safetensors").path
        let bytes = safetensorsBytes(header: "{}", data: [], declaredLength: 200_000_000)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: SafeTensorsError.headerTooLarge(path: path, length: 200_000_000)) {
            try SafeTensorsFile(path: path)
        }
    }

    @Test func handlesManyTinyTensorsWithoutQuadraticWork() throws {
        let count = 100_000
        var header = "{"
        header.reserveCapacity(count * 64)
        // Listed in reverse data order so the reader has to sort.
        for i in (0..<count).reversed() {
            header += #""t\#(i)":{"dtype":"U8","shape":[1],"data_offsets":[\#(i),\#(i + 1)]}"#
            header += i == 0 ? "}" : ","
        }
        let data = (0..<count).map { UInt8(truncatingIfNeeded: $0) }
        let clock = ContinuousClock()
        let start = clock.now
        let file = try SafeTensorsFile(bytes: safetensorsBytes(header: header, data: data), path: "many.safetensors")
        let elapsed = clock.now - start
        #expect(file.count == count)
        #expect(file.names.first == "t0")
        #expect(file.names.last == "t\(count - 1)")
        #expect(try file.tensor(named: "t300").bytes == [UInt8(300 % 256)])
        // Generous even for a debug build; a quadratic check would take minutes.
        #expect(elapsed < .seconds(30))
    }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] })
}
