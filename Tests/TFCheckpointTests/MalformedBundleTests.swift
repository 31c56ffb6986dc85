import Foundation
import TensorCore
import TestSupport
import Testing

@testable import TFCheckpoint

@Suite struct MalformedBundleTests {
    static let floats: [UInt8] = [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40]  // 1, 2, 3

    static func entries() -> [BundleBuilder.Entry] {
        (0..<7).map { i in
            BundleBuilder.Entry(name: "layer\(i)/kernel", shape: [3], data: floats.map { $0 &+ UInt8(i == 0 ? 0 : 0) })
        }
    }

    func open(_ builder: BundleBuilder) throws -> (TensorBundle, URL) {
        let dir = try makeTemporaryDirectory()
        do {
            return (try TensorBundle(path: try builder.write(to: dir)), dir)
        } catch {
            removeTemporaryDirectory(dir)
            throw error
        }
    }

    /// Prefix compression across several data blocks, plain and Snappy-compressed.
    @Test(arguments: [false, true])
    func builtBundleReads(snappy: Bool) throws {
        var builder = BundleBuilder(entries: Self.entries())
        builder.snappy = snappy
        let (bundle, dir) = try open(builder)
        defer { removeTemporaryDirectory(dir) }
        #expect(bundle.entries.map(\.name) == (0..<7).map { "layer\($0)/kernel" })
        for entry in bundle.entries {
            #expect(try bundle.tensor(named: entry.name).floatValues() == [1, 2, 3])
        }
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var build: @Sendable (inout BundleBuilder) -> Void
        /// A fragment the error's reason must contain.
        var reason: String
        /// The tensor the error must name, if any.
        var tensor: String?
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(name: "bad footer magic", build: { $0.magic = 0x1234 }, reason: "bad magic number", tensor: nil),
        Bad(
            name: "entry with a truncated varint",
            build: { $0.entries[2].rawValue = [0x08, 0x80] }, reason: "corrupt index entry", tensor: "layer2/kernel"),
        Bad(
            name: "entry field with the wrong wire type",
            build: { $0.entries[1].rawValue = [0x0a, 0x01, 0x00] }, reason: "wire type", tensor: "layer1/kernel"),
        Bad(
            name: "entry with a length past its end",
            build: { $0.entries[0].rawValue = [0x12, 0x09, 0x12] }, reason: "claims 9 bytes", tensor: "layer0/kernel"),
        Bad(
            name: "entry with wire type 3 (groups)",
            build: { $0.entries[0].rawValue = [0x0b] }, reason: "unsupported wire type 3", tensor: "layer0/kernel"),
        Bad(
            name: "size that disagrees with the shape",
            build: { $0.entries[3].shape = [4] }, reason: "takes 16", tensor: "layer3/kernel"),
        Bad(name: "big-endian bundle", build: { $0.bigEndian = true }, reason: "big-endian", tensor: nil),
        Bad(
            name: "unsupported dtype (complex64)",
            build: {
                $0.entries[4].dtype = 8
                $0.entries[4].shape = [1]
                $0.entries[4].data = [UInt8](repeating: 0, count: 8)
            }, reason: "unsupported dtype 'complex64'", tensor: "layer4/kernel"),
    ]

    @Test(arguments: bad)
    func malformedBundleIsRefused(_ bad: Bad) throws {
        var builder = BundleBuilder(entries: Self.entries())
        bad.build(&builder)
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let prefix = try builder.write(to: dir)
        var caught: CheckpointError?
        do {
            let bundle = try TensorBundle(path: prefix)
            for entry in bundle.entries { _ = try bundle.tensor(named: entry.name) }
        } catch let error as CheckpointError {
            caught = error
        }
        let error = try #require(caught, "no error")
        #expect(error.path == prefix + ".index", "\(error)")
        #expect(error.member == bad.tensor, "\(error)")
        #expect(error.reason.contains(bad.reason), "\(error)")
    }

    /// Every single-byte flip in the index is caught (by a block checksum or the footer's checks), never a crash.
    @Test func everyIndexByteFlipIsDetected() throws {
        let (index, data) = BundleBuilder(entries: Self.entries()).build()
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let prefix = dir.appendingPathComponent("m.ckpt").path
        try Data(data).write(to: URL(fileURLWithPath: prefix + ".data-00000-of-00001"))
        let footerPadding = (index.count - 48)..<(index.count - 8)
        for position in index.indices {
            var damaged = index
            damaged[position] ^= 0x10
            try Data(damaged).write(to: URL(fileURLWithPath: prefix + ".index"))
            do {
                let bundle = try TensorBundle(path: prefix)
                // Flips in the footer's zero padding beyond the handles are harmless; nothing else is.
                #expect(footerPadding.contains(position), "flip at \(position) went unnoticed")
                #expect(bundle.entries.count == 7)
            } catch let error as CheckpointError {
                #expect(error.path == prefix + ".index")
            }
        }
    }

    @Test func missingHeader() throws {
        let builder = BundleBuilder(entries: Self.entries())
        var file: [UInt8] = []
        let data = builder.block([(Array("a".utf8), BundleBuilder.entryProto(dtype: 1, shape: [], offset: 0, data: []))]
        )
        let dataHandle = builder.append(data, to: &file)
        let metaindex = builder.append(builder.block([]), to: &file)
        let index = builder.append(builder.block([(Array("a".utf8), dataHandle)]), to: &file)
        var footer = metaindex + index
        footer += [UInt8](repeating: 0, count: 40 - footer.count) + BundleBuilder.littleEndian(CheckpointIndex.magic)
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let prefix = dir.appendingPathComponent("h.ckpt").path
        try Data(file + footer).write(to: URL(fileURLWithPath: prefix + ".index"))
        #expect(
            throws: CheckpointError.badHeader(
                path: prefix + ".index", reason: "no bundle header (the entry under the empty key is missing)")
        ) {
            try TensorBundle(path: prefix)
        }
    }

    @Test func errorMessageReadsAsOneLine() {
        let error = CheckpointError.tensorChecksumMismatch(
            path: "m.ckpt.data-00000-of-00001", tensor: "layer0/W", stored: 0x1234_5678, computed: 0xabc)
        #expect(
            "\(error)"
                == "m.ckpt.data-00000-of-00001: layer0/W: checksum mismatch: the data's CRC-32C is 0x00000abc, "
                + "the index says 0x12345678 (corrupt data?)")
        #expect(CheckpointError.printable("\u{0}part/kernel\u{1}") == "\\x00part/kernel\\x01")
    }
}
