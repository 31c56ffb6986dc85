import NumPyFormat
import TensorCore
import Testing

/// The good member the cases below break: numpy's `f4_le.npy` as `layer0/W.npy` (176 bytes).
private func goodNPY() throws -> [UInt8] { try Expectations.bytes("f4_le.npy") }

/// One way to break an NPZ archive, and what the error must say.
struct MalformedNPZ: Sendable, CustomTestStringConvertible {
    var testDescription: String
    /// The bad archive.
    var archive: @Sendable () throws -> [UInt8]
    /// The member the error must name; nil for archive-wide faults.
    var member: String?
    /// Text the error's reason must contain.
    var reason: String

    static func members(
        _ name: String, member: String? = "layer0/W.npy", reason: String,
        _ build: @escaping @Sendable ([UInt8]) throws -> [ZipMember]
    ) -> MalformedNPZ {
        MalformedNPZ(testDescription: name, archive: { makeZip(try build(goodNPY())) }, member: member, reason: reason)
    }

    static func patchingFixture(
        _ name: String, _ file: String, member: String?, reason: String,
        _ patch: @escaping @Sendable (inout [UInt8]) -> Void
    ) -> MalformedNPZ {
        MalformedNPZ(
            testDescription: name,
            archive: {
                var bytes = try Expectations.bytes(file)
                patch(&bytes)
                return bytes
            }, member: member, reason: reason)
    }

    static let all: [MalformedNPZ] = [
        .patchingFixture(
            "no end-of-central-directory record", "params_stored.npz", member: nil,
            reason: "not a zip archive: no end-of-central-directory record"
        ) { $0.removeLast(22) },
        MalformedNPZ(
            testDescription: "an NPY file, not a zip", archive: { try goodNPY() }, member: nil,
            reason: "not a zip archive"),
        MalformedNPZ(
            testDescription: "too short for a zip", archive: { [0x50, 0x4B] }, member: nil,
            reason: "2 bytes is too short for a zip archive"),
        .patchingFixture(
            "bad local header signature", "params_stored.npz", member: "layer0/W.npy",
            reason: "bad local header signature at offset 0"
        ) { $0[0] = 0 },
        .patchingFixture(
            "bad central header signature", "params_stored.npz", member: nil,
            reason: "bad central directory header signature"
        ) { bytes in
            if let offset = firstOffset(of: [0x50, 0x4B, 0x01, 0x02], in: bytes) { bytes[offset + 3] = 9 }
        },
        .patchingFixture(
            "entry count beyond the directory", "params_stored.npz", member: nil,
            reason: "60000 entries cannot fit"
        ) { bytes in
            let end = bytes.count - 22
            bytes.replaceSubrange(
                (end + 8)..<(end + 12), with: littleEndian(UInt16(60000)) + littleEndian(UInt16(60000)))
        },
        .patchingFixture(
            "ZIP64 locator pointing outside the file", "zip64_full.npz", member: nil,
            reason: "ZIP64 end record offset"
        ) { bytes in
            let locator = bytes.count - 22 - 20
            bytes.replaceSubrange((locator + 8)..<(locator + 16), with: littleEndian(UInt64(1) << 40))
        },
        MalformedNPZ(
            testDescription: "multi-disk",
            archive: { makeZip([.stored("layer0/W.npy", try goodNPY())], diskNumber: 1) },
            member: nil, reason: "multi-disk"),
        .members("CRC mismatch (stored)", reason: "CRC-32 mismatch") { npy in
            var member = ZipMember.stored("layer0/W.npy", npy)
            member.crc ^= 1
            return [member]
        },
        .members("payload byte flipped (stored)", reason: "CRC-32 mismatch") { npy in
            var member = ZipMember.stored("layer0/W.npy", npy)
            member.data[member.data.count - 1] ^= 0x40
            return [member]
        },
        .members("CRC mismatch (deflated)", reason: "CRC-32 mismatch") { npy in
            var member = ZipMember.deflated("layer0/W.npy", npy)
            member.crc = ~member.crc
            return [member]
        },
        .members(
            "deflated member inflates past its NPY header", reason: "inflates past the 176 bytes its NPY header implies"
        ) { npy in
            [.deflated("layer0/W.npy", npy + [1, 2, 3, 4])]
        },
        .members(
            "deflated member shorter than its NPY header implies",
            reason: "truncated data: the header implies 48 bytes, 44 present"
        ) { npy in
            [.deflated("layer0/W.npy", Array(npy.dropLast(4)))]
        },
        .members("truncated deflate data", reason: "the compressed data ends before the deflate stream does") { npy in
            [.deflated("layer0/W.npy", npy, stream: { Array($0.dropLast(10)) })]
        },
        .members("corrupt deflate block", reason: "corrupt deflate data: invalid stored block lengths") { npy in
            [
                .deflated(
                    "layer0/W.npy", npy,
                    stream: { stream in
                        var stream = stream
                        stream[3] ^= 0xFF
                        return stream
                    })
            ]
        },
        .members("bytes after the deflate stream", reason: "2 bytes follow the end of the deflate stream") { npy in
            [.deflated("layer0/W.npy", npy, stream: { $0 + [0, 0] })]
        },
        .members("header implies more than the compressed data can hold", reason: "compressed bytes can hold") { npy in
            let huge = makeNPY(
                header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }",
                payload: npyParts(npy).payload)
            return [.deflated("layer0/W.npy", huge)]
        },
        .members(
            "declared uncompressed size disagrees",
            reason: "declares 177 uncompressed bytes, the member inflates to 176"
        ) { npy in
            var member = ZipMember.deflated("layer0/W.npy", npy)
            member.uncompressedSize += 1
            return [member]
        },
        .members("stored sizes disagree", reason: "stored member declares 176 stored but 175 uncompressed bytes") {
            npy in
            var member = ZipMember.stored("layer0/W.npy", npy)
            member.uncompressedSize -= 1
            return [member]
        },
        .members(
            "local header name disagrees",
            reason: "local header names 'layer0/X.npy', the central directory 'layer0/W.npy'"
        ) { npy in
            var member = ZipMember.stored("layer0/W.npy", npy)
            member.localName = "layer0/X.npy"
            return [member]
        },
        .members(
            "local header method disagrees", reason: "local header says compression method 8, the central directory 0"
        ) { npy in
            var member = ZipMember.stored("layer0/W.npy", npy)
            member.localMethod = 8
            return [member]
        },
        .members("member data beyond the file", reason: "extends past the end of the file") { npy in
            var member = ZipMember.stored("layer0/W.npy", npy)
            member.compressedSize = 1 << 20
            member.uncompressedSize = 1 << 20
            return [member]
        },
        .members("encrypted flag", reason: "encrypted member (flag bit 0 set)") { npy in
            var member = ZipMember.stored("layer0/W.npy", npy)
            member.flags = 1
            return [member]
        },
        .members("bzip2 method", reason: "compression method 12 (bzip2); only stored (0) and deflate (8) are supported")
        { npy in
            var member = ZipMember.stored("layer0/W.npy", npy)
            member.method = 12
            return [member]
        },
        .members("duplicate member names", reason: "duplicate member name 'layer0/W.npy'") { npy in
            [.stored("layer0/W.npy", npy), .stored("layer0/W.npy", npy)]
        },
        .members("duplicate names once .npy is dropped", reason: "duplicate member name 'layer0/W.npy'") { npy in
            [.stored("layer0/W", npy), .stored("layer0/W.npy", npy)]
        },
        .members("stored NPY with trailing bytes", reason: "1 unexpected bytes after the 48 bytes the header implies") {
            npy in
            [.stored("layer0/W.npy", npy + [0])]
        },
        .members("deflated NPY with a malformed header", reason: "unsupported dtype '<c8'") { npy in
            [.deflated("layer0/W.npy", try replacingHeaderText(of: npy, "'<f4'", with: "'<c8'"))]
        },
    ]
}

private func firstOffset(of pattern: [UInt8], in bytes: [UInt8]) -> Int? {
    guard bytes.count >= pattern.count else { return nil }
    return (0...(bytes.count - pattern.count)).first { bytes[$0..<($0 + pattern.count)].elementsEqual(pattern) }
}

@Suite("malformed NPZ")
struct MalformedNPZTests {
    @Test(arguments: MalformedNPZ.all)
    func rejected(_ malformed: MalformedNPZ) throws {
        let bytes = try malformed.archive()
        let error = #expect(throws: NPYError.self) {
            _ = try NPZArchive(bytes: bytes, path: "params.npz").tensor(named: "layer0/W")
        }
        #expect(error?.path == "params.npz")
        #expect(error?.member == malformed.member)
        let description = error?.description ?? ""
        let prefix = malformed.member.map { "params.npz: \($0): " } ?? "params.npz: "
        #expect(description.hasPrefix(prefix), "\(description)")
        #expect(description.contains(malformed.reason), "\(description)")
    }

    /// The builders must make readable archives when nothing is broken, so each failure above is the corruption's.
    @Test(arguments: [UInt16(0), 8])
    func builtArchiveReads(method: UInt16) throws {
        let npy = try goodNPY()
        let other = try Expectations.bytes("i8_be.npy")
        let members: [ZipMember] =
            method == 0
            ? [.stored("layer0/W.npy", npy), .stored("steps.npy", other)]
            : [.deflated("layer0/W.npy", npy), .deflated("steps.npy", other)]
        let archive = try NPZArchive(bytes: makeZip(members, comment: Array("made by a test".utf8)), path: "built.npz")
        #expect(archive.names == ["layer0/W", "steps"])
        #expect(try archive.tensor(named: "layer0/W") == NPYFile.decode(npy, path: "W.npy", member: nil))
        #expect(try archive.tensor(named: "steps") == NPYFile.decode(other, path: "steps.npy", member: nil))
    }

    @Test func realDeflateDataCutShort() throws {
        // The first member of numpy's compressed archive, its deflate stream cut in half.
        let fixture = try Expectations.bytes("params_deflated.npz")
        let field = { (offset: Int, width: Int) in
            (0..<width).reduce(0) { $0 | Int(fixture[offset + $1]) << (8 * $1) }
        }
        let compressedSize = field(18, 4)
        let dataStart = 30 + field(26, 2) + field(28, 2)
        let member = ZipMember(
            name: "layer0/W.npy", data: Array(fixture[dataStart..<(dataStart + compressedSize / 2)]), method: 8,
            crc: UInt32(field(14, 4)), uncompressedSize: field(22, 4))
        let archive = try NPZArchive(bytes: makeZip([member]), path: "cut.npz")
        let error = #expect(throws: NPYError.self) { try archive.tensor(named: "layer0/W") }
        #expect(error?.description.hasPrefix("cut.npz: layer0/W.npy: corrupt deflate data") == true)
    }

    @Test func brokenMemberLeavesOthersReadable() throws {
        let npy = try goodNPY()
        var broken = ZipMember.stored("broken.npy", npy)
        broken.method = 12
        let archive = try NPZArchive(bytes: makeZip([broken, .stored("layer0/W.npy", npy)]), path: "mixed.npz")
        #expect(archive.names == ["broken", "layer0/W"])
        #expect(throws: NPYError.self) { try archive.tensor(named: "broken") }
        #expect(try archive.tensor(named: "layer0/W").shape == [3, 4])
    }
}
