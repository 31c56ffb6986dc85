import Foundation
import NumPyFormat
import TensorCore
import TestSupport
import Testing

/// Archive members are inflated block by block under caps checked before inflating, and never past their declared
/// size.
@Suite struct ArchiveStreamingTests {
    /// 3 MiB of a repeating pattern: several inflate blocks.
    static let content = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }

    @Test func aDeflatedMemberIsExtractedBlockByBlock() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let archive = try ZipArchive(
            bytes: makeZip([.deflated("model.weights.h5", Self.content)]), path: "m.keras")
        let path = dir.appendingPathComponent("out").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        try archive.extract("model.weights.h5", to: descriptor, destinationName: path)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(Self.content))
    }

    @Test func inflatingPastTheDeclaredSizeStopsThere() throws {
        var member = ZipMember.deflated("model.weights.h5", Self.content)
        member.uncompressedSize = 1 << 20
        let archive = try ZipArchive(bytes: makeZip([member]), path: "m.keras")
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir.appendingPathComponent("out").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        #expect(
            throws: NPYError.malformedArchive(
                path: "m.keras", member: "model.weights.h5",
                detail: "inflates to more than the 1048576 bytes it declares")
        ) { try archive.extract("model.weights.h5", to: descriptor, destinationName: path) }
        // Nothing past the declared size was written.
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? .max) <= 1 << 20)
        #expect(throws: NPYError.self) { _ = try archive.data(of: "model.weights.h5") }
    }

    @Test func inMemoryMembersAreCappedBeforeInflating() throws {
        var member = ZipMember.deflated("config.json", Array("{}".utf8))
        member.uncompressedSize = 1_600_000_000
        let archive = try ZipArchive(bytes: makeZip([member]), path: "m.keras")
        #expect(
            throws: NPYError.memberTooLarge(
                path: "m.keras", member: "config.json",
                detail: "declares 1600000000 bytes uncompressed, more than the 16777216 allowed for it")
        ) { _ = try archive.data(of: "config.json") }
    }

    @Test func aDeclaredSizeDeflateCannotProduceIsRefused() throws {
        var member = ZipMember.deflated("model.weights.h5", Array(repeating: 0, count: 1000))
        member.uncompressedSize = 3_750_000_000
        let archive = try ZipArchive(bytes: makeZip([member]), path: "m.keras")
        let error = #expect(throws: NPYError.self) {
            try archive.extract("model.weights.h5", to: -1, destinationName: "/tmp/x")
        }
        #expect(error?.reason.contains("more than deflate can produce") == true, "\(String(describing: error))")
    }
}
