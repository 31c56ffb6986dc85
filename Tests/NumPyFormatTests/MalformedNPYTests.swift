import NumPyFormat
import TensorCore
import Testing

/// One way to break a good NPY file, and what the error must say.
struct MalformedNPY: Sendable, CustomTestStringConvertible {
    var testDescription: String
    /// Turns the bytes of `f4_le.npy` (`<f4`, shape (3, 4), format 1.0) into the bad file.
    var corrupt: @Sendable ([UInt8]) throws -> [UInt8]
    /// Text the error's reason must contain.
    var reason: String

    static func header(_ name: String, _ header: String, reason: String) -> MalformedNPY {
        MalformedNPY(
            testDescription: name, corrupt: { makeNPY(header: header, payload: npyParts($0).payload) }, reason: reason)
    }

    static func replacing(_ name: String, _ old: String, _ new: String, reason: String) -> MalformedNPY {
        MalformedNPY(
            testDescription: name, corrupt: { try replacingHeaderText(of: $0, old, with: new) }, reason: reason)
    }

    static func patching(_ name: String, _ patches: [Int: UInt8], reason: String) -> MalformedNPY {
        MalformedNPY(
            testDescription: name,
            corrupt: { bytes in
                var bytes = bytes
                for (offset, value) in patches { bytes[offset] = value }
                return bytes
            }, reason: reason)
    }

    static let all: [MalformedNPY] = [
        .patching("bad magic", [1: UInt8(ascii: "X")], reason: "not an NPY file"),
        MalformedNPY(
            testDescription: "empty file", corrupt: { _ in [] },
            reason: "truncated NPY header: needs 6 bytes, 0 present"),
        MalformedNPY(
            testDescription: "short file", corrupt: { Array($0.prefix(9)) },
            reason: "truncated NPY header: needs 10 bytes, 9 present"),
        MalformedNPY(
            testDescription: "cut inside the header", corrupt: { Array($0.prefix(40)) }, reason: "truncated NPY header"),
        .patching("unsupported major version", [6: 4], reason: "unsupported NPY format version 4.0"),
        .patching("unsupported minor version", [7: 1], reason: "unsupported NPY format version 1.1"),
        .patching(
            "header length beyond the file", [8: 0xFF, 9: 0xFF],
            reason: "truncated NPY header: needs 65545 bytes, 176 present"),
        MalformedNPY(
            testDescription: "header length over the cap",
            corrupt: { bytes in
                var file = makeNPY(header: npyParts(bytes).header, payload: npyParts(bytes).payload, major: 2)
                file.replaceSubrange(8..<12, with: littleEndian(UInt32(0x7FFF_FFFF)))
                return file
            }, reason: "NPY header length 2147483647 exceeds the limit of 1048576 bytes"),
        .header("header is a list", "[('descr', '<f4')]", reason: "expected a dict, found [('descr', '<f4')]"),
        .header("header is not a literal", "descr=<f4", reason: "unexpected name 'descr'"),
        .header(
            "evaluation is never attempted",
            "{'descr': __import__('os').getcwd(), 'fortran_order': False, 'shape': (3, 4)}",
            reason: "unexpected name '__import__'"),
        .header("unterminated string", "{'descr': '<f4", reason: "unterminated string at header offset 10"),
        .header(
            "unbalanced quotes", "{'descr': '<f4, 'fortran_order': False, 'shape': (3, 4)}",
            reason: "expected ',' or '}' but found 'f'"),
        .header("missing key", "{'descr': '<f4', 'fortran_order': False}", reason: "missing key 'shape'"),
        .header(
            "extra key", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), 'align': True}",
            reason: "unexpected key 'align'"),
        .header(
            "duplicate key", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)}",
            reason: "duplicate key 'descr'"),
        .replacing(
            "non-bool fortran_order", "'fortran_order': False", "'fortran_order': 0",
            reason: "'fortran_order' must be True or False, found 0"),
        .replacing("shape is a list", "(3, 4)", "[3, 4]", reason: "'shape' must be a tuple of integers, found [3, 4]"),
        .replacing(
            "shape is a parenthesised int", "(3, 4)", "(12)", reason: "'shape' must be a tuple of integers, found 12"),
        .replacing("shape holds a string", "(3, 4)", "(3, '4')", reason: "'shape' must be a tuple of integers"),
        .replacing("object dtype", "'<f4'", "'|O'", reason: "unsupported dtype '|O' (object arrays need pickle"),
        .replacing(
            "structured dtype", "'<f4'", "[('a', '<f4'), ('b', '<f4')]",
            reason: "unsupported dtype '[('a', '<f4'), ('b', '<f4')]' (structured"),
        .replacing("datetime dtype", "'<f4'", "'<M8[s]'", reason: "unsupported dtype '<M8[s]' (datetime"),
        .replacing("timedelta dtype", "'<f4'", "'<m8[D]'", reason: "unsupported dtype '<m8[D]' (timedelta"),
        .replacing("complex dtype", "'<f4'", "'<c8'", reason: "unsupported dtype '<c8' (complex"),
        .replacing("string dtype", "'<f4'", "'<U1'", reason: "unsupported dtype '<U1' (string"),
        .replacing("long double dtype", "'<f4'", "'<f16'", reason: "unsupported dtype '<f16'"),
        .replacing("descr not a string", "'<f4'", "4", reason: "'descr' must be a string, found 4"),
        .replacing("negative dimension", "(3, 4)", "(-3, 4)", reason: "invalid shape [-3, 4]: negative dimension"),
        .replacing(
            "overflowing shape product", "(3, 4)", "(4294967296, 4294967296)",
            reason: "invalid shape [4294967296, 4294967296]: its size in bytes overflows"),
        .replacing("integer beyond 64 bits", "(3, 4)", "(99999999999999999999,)", reason: "integer out of range"),
        .replacing(
            "shape far beyond the file", "(3, 4)", "(1000000, 1000000)",
            reason: "truncated data: the header implies 4000000000000 bytes, 48 present"),
        MalformedNPY(
            testDescription: "truncated payload", corrupt: { Array($0.dropLast(4)) },
            reason: "truncated data: the header implies 48 bytes, 44 present"),
        MalformedNPY(
            testDescription: "trailing bytes", corrupt: { $0 + [0] },
            reason: "1 unexpected bytes after the 48 bytes the header implies"),
    ]
}

@Suite("malformed NPY")
struct MalformedNPYTests {
    @Test(arguments: MalformedNPY.all)
    func rejected(_ malformed: MalformedNPY) throws {
        let bad = try malformed.corrupt(try Expectations.bytes("f4_le.npy"))
        let error = #expect(throws: NPYError.self) {
            try NPYFile.decode(bad, path: "params.npz", member: "layer0/W.npy")
        }
        #expect(error?.path == "params.npz")
        #expect(error?.member == "layer0/W.npy")
        let description = error?.description ?? ""
        #expect(description.hasPrefix("params.npz: layer0/W.npy: "))
        #expect(description.contains(malformed.reason), "\(description)")
    }

    @Test func errorsOfAStandaloneFileNameOnlyTheFile() {
        let error = #expect(throws: NPYError.self) {
            try NPYFile.decode(Array("not numpy".utf8), path: "dump/W.npy", member: nil)
        }
        #expect(error == .badMagic(path: "dump/W.npy", member: nil))
        #expect(error?.description == "dump/W.npy: not an NPY file (missing the \\x93NUMPY magic string)")
    }

    @Test func rewrittenHeaderStillDecodes() throws {
        // Guards the builders above: an untouched rebuild must decode, so each failure is the corruption's.
        let good = try Expectations.bytes("f4_le.npy")
        let (header, payload) = npyParts(good)
        #expect(makeNPY(header: header, payload: payload) == good)
        let version2 = makeNPY(header: header, payload: payload, major: 2)
        #expect(
            try NPYFile.decode(version2, path: "v2.npy", member: nil)
                == NPYFile.decode(good, path: "v1.npy", member: nil))
    }

    @Test func pythonTwoLongSuffixAndDoubleQuotes() throws {
        let good = try Expectations.bytes("f4_le.npy")
        let old = makeNPY(
            header: "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3L, 4L), }",
            payload: npyParts(good).payload)
        #expect(
            try NPYFile.decode(old, path: "old.npy", member: nil) == NPYFile.decode(good, path: "f4.npy", member: nil))
    }

    @Test func emptyTupleIsAScalar() throws {
        let scalar = makeNPY(
            header: "{'descr': '<i4', 'fortran_order': True, 'shape': (), }", payload: littleEndian(Int32(-7)))
        let tensor = try NPYFile.decode(scalar, path: "s.npy", member: nil)
        #expect(tensor.shape == [])
        #expect(elementStrings(tensor) == ["-7"])
    }
}
