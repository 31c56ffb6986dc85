import Foundation
import NumPyFormat
import TensorCore
import TestSupport
import Testing

@Suite("numpy fixtures")
struct FixtureTests {
    @Test func expectedJSONCoversEveryFixture() throws {
        let expected = try Expectations.load()
        #expect(expected.numpy == "2.4.6")
        let files = try FileManager.default.contentsOfDirectory(atPath: Expectations.directoryURL.path)
        #expect(Set(expected.npy.map(\.name)) == Set(files.filter { $0.hasSuffix(".npy") }))
        #expect(Set(expected.npz.map(\.file)) == Set(files.filter { $0.hasSuffix(".npz") }))
        #expect(expected.npy.count >= 29)
    }

    @Test("every .npy fixture reads as numpy wrote it", arguments: Expectations.shared?.npy ?? [])
    func npyFixture(_ expected: Expectations.Array) throws {
        let tensor = try NPYFile.read(path: Expectations.path(expected.name))
        expectMatches(tensor, expected)
    }

    @Test("headers report version, byte order and memory order", arguments: Expectations.shared?.npy ?? [])
    func npyHeader(_ expected: Expectations.Array) throws {
        let bytes = try Expectations.bytes(expected.name)
        let (header, dataOffset) = try NPYHeader.parse(bytes[...])
        #expect(header.descr == expected.descr)
        #expect(header.dtype.rawValue == expected.dtype)
        #expect(header.shape == expected.shape)
        #expect(header.bigEndian == expected.descr.hasPrefix(">"))
        #expect(header.fortranOrder == expected.fortranOrder)
        #expect([Int(header.majorVersion), Int(header.minorVersion)] == expected.version)
        #expect(dataOffset % 64 == 0, "numpy aligns the payload to 64 bytes")
        #expect(bytes.count - dataOffset == header.payloadByteCount)
    }

    @Test("every .npz member reads as numpy wrote it", arguments: Expectations.shared?.npz ?? [])
    func npzFixture(_ expected: Expectations.Archive) throws {
        let archive = try NPZArchive(path: Expectations.path(expected.file))
        #expect(archive.names == expected.members.map(\.name))
        for member in expected.members {
            #expect(archive.contains(member.name))
            #expect(archive.contains(member.name + ".npy"))
            expectMatches(try archive.tensor(named: member.name), member)
        }
        #expect(!archive.contains("missing"))
    }

    @Test func npzMemberNamedWithSuffix() throws {
        let archive = try NPZArchive(path: Expectations.path("params_deflated.npz"))
        #expect(try archive.tensor(named: "layer0/W.npy") == archive.tensor(named: "layer0/W"))
    }

    @Test func storedAndDeflatedArchivesAgree() throws {
        let stored = try NPZArchive(path: Expectations.path("params_stored.npz"))
        let deflated = try NPZArchive(path: Expectations.path("params_deflated.npz"))
        #expect(stored.names == deflated.names)
        for name in stored.names {
            #expect(try stored.tensor(named: name) == deflated.tensor(named: name))
        }
    }

    @Test func unknownMemberNamesArchiveAndName() throws {
        let path = Expectations.path("params_stored.npz")
        let archive = try NPZArchive(path: path)
        let error = #expect(throws: NPYError.self) { try archive.tensor(named: "layer9/W") }
        #expect(error == .memberNotFound(path: path, name: "layer9/W"))
        #expect(error?.description == "\(path): layer9/W: no such array")
    }

    @Test func directoryOfNPYFiles() throws {
        let expected = try #require(Expectations.shared).directory
        let directory = try NPYDirectory(path: Expectations.path(expected.path))
        #expect(directory.names == expected.members.map(\.name).sorted())
        for member in expected.members {
            #expect(directory.contains(member.name))
            expectMatches(try directory.tensor(named: member.name), member)
        }
        #expect(!directory.contains("README"))
        let error = #expect(throws: NPYError.self) { try directory.tensor(named: "README.txt") }
        #expect(error?.member == "README.txt")
    }

    @Test func directoryErrorsNameTheFile() throws {
        let temporary = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(temporary) }
        let nested = temporary.appendingPathComponent("dense/kernel.npy")
        try FileManager.default.createDirectory(
            at: nested.deletingLastPathComponent(), withIntermediateDirectories: true)
        var bytes = try Expectations.bytes("f4_le.npy")
        bytes.removeLast()
        try Data(bytes).write(to: nested)
        let directory = try NPYDirectory(path: temporary.path)
        #expect(directory.names == ["dense/kernel"])
        let error = #expect(throws: NPYError.self) { try directory.tensor(named: "dense/kernel") }
        #expect(error?.path == nested.path)
        #expect(error?.description.hasPrefix("\(nested.path): truncated data") == true)
    }

    @Test func missingPaths() {
        let missing = "/nonexistent/tfparity/params"
        #expect(throws: NPYError.unreadable(path: missing + ".npy", detail: "no such file")) {
            try NPYFile.read(path: missing + ".npy")
        }
        #expect(throws: NPYError.unreadable(path: missing + ".npz", detail: "no such file")) {
            try NPZArchive(path: missing + ".npz")
        }
        #expect(throws: NPYError.unreadable(path: missing, detail: "no such directory")) {
            try NPYDirectory(path: missing)
        }
        #expect(throws: NPYError.unreadable(path: Expectations.directoryURL.path, detail: "is a directory, not a file"))
        {
            try NPYFile.read(path: Expectations.directoryURL.path)
        }
    }

    /// numpy never writes `=` (native order), but its reader accepts it; so does ours, as little-endian here.
    @Test func nativeByteOrderIsLittleEndian() throws {
        let good = try Expectations.bytes("f4_le.npy")
        let expected = try #require(Expectations.shared?.npy.first { $0.name == "f4_le.npy" })
        let native = try replacingHeaderText(of: good, "'<f4'", with: "'=f4'")
        expectMatches(try NPYFile.decode(native, path: "native.npy", member: nil), expected)
    }
}
