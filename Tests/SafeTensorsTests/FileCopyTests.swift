import Foundation
import TensorCore
import TestSupport
import Testing

@testable import SafeTensors

/// Streaming with tensors copied file to file (`TensorContents.file`) and metadata completed at the end.
@Suite struct FileCopyTests {
    let layout = [
        TensorLayout(name: "a", dtype: .float32, shape: [3]),
        TensorLayout(name: "b", dtype: .uint8, shape: [5]),
        TensorLayout(name: "c", dtype: .float64, shape: [2, 2]),
    ]

    /// A source file whose bytes 0..<1000 are `i * 13`; tensors are copied from odd, unaligned offsets.
    func makeSource(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("source.bin").path
        try Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 * 13) }).write(to: URL(fileURLWithPath: path))
        return path
    }

    func sourceBytes(_ offset: Int, _ count: Int) -> [UInt8] {
        (offset..<(offset + count)).map { UInt8(truncatingIfNeeded: $0 * 13) }
    }

    @Test func copiedAndInMemoryTensorsMix() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let source = try makeSource(in: dir)
        let path = dir.appendingPathComponent("m.safetensors").path
        let offsets = [7, 0, 501]
        try SafeTensorsWriter.write(
            layout, metadata: ["k": "v"], to: path,
            streaming: { index in
                if index == 1 { return .bytes([9, 8, 7, 6, 5]) }
                return .file(
                    FileRange(path: source, member: "t\(index)", offset: offsets[index], count: layout[index].byteCount)
                )
            })
        let file = try SafeTensorsFile(path: path)
        #expect(try file.tensor(named: "a").bytes == sourceBytes(7, 12))
        #expect(try file.tensor(named: "b").bytes == [9, 8, 7, 6, 5])
        #expect(try file.tensor(named: "c").bytes == sourceBytes(501, 32))
        #expect(file.metadata == ["k": "v"])
    }

    /// Tensors copied from the streamed source are written as one pass over it reaches them, whatever their order in
    /// the model, from the windows its observer sees: the observer gets every byte of the file once, in order, and the
    /// model holds the source's bytes. Ranges at odd offsets, straddling windows, sharing bytes, empty, beside tensors
    /// from memory and from another file.
    @Test func tensorsOfTheStreamedSourceAreWrittenFromTheWindowsItsObserverSees() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let source = dir.appendingPathComponent("big.bin").path
        let bytes = (0..<((3 << 20) + 17)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let other = try makeSource(in: dir)
        let sizes = [(2 << 20) + 5, 10, 3, 0, 4096, 1000, 12]
        let offsets = [(1 << 20) - 1, 7, (3 << 20) + 14, 100, 5, 9, 0]
        let layout = sizes.enumerated().map { TensorLayout(name: "t\($0.offset)", dtype: .uint8, shape: [$0.element]) }
        let path = dir.appendingPathComponent("m.safetensors").path
        final class Seen: @unchecked Sendable { var bytes: [UInt8] = [] }
        let seen = Seen()
        try SafeTensorsWriter.write(
            layout, to: path,
            streaming: { index in
                switch index {
                case 5: return .bytes([UInt8](repeating: 42, count: 1000))
                case 6: return .file(FileRange(path: other, member: "o", offset: 0, count: 12))
                default: return .file(FileRange(path: source, member: "t", offset: offsets[index], count: sizes[index]))
                }
            },
            streamedSource: SafeTensorsWriter.StreamedSource(path: source) { seen.bytes += $0 })
        #expect(seen.bytes == bytes)
        let file = try SafeTensorsFile(path: path)
        for index in [0, 1, 2, 3, 4] {
            #expect(
                try file.tensor(named: "t\(index)").bytes
                    == Array(bytes[offsets[index]..<(offsets[index] + sizes[index])]), "t\(index)")
        }
        #expect(try file.tensor(named: "t5").bytes == [UInt8](repeating: 42, count: 1000))
        #expect(try file.tensor(named: "t6").bytes == sourceBytes(0, 12))
    }

    /// The observer sees the whole file even when no tensor comes from it.
    @Test func theStreamedSourceIsReadWhenNoTensorIsCopiedFromIt() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let source = try makeSource(in: dir)
        let path = dir.appendingPathComponent("m.safetensors").path
        final class Seen: @unchecked Sendable { var bytes: [UInt8] = [] }
        let seen = Seen()
        try SafeTensorsWriter.write(
            layout, to: path, streaming: { .bytes([UInt8](repeating: 1, count: layout[$0].byteCount)) },
            streamedSource: SafeTensorsWriter.StreamedSource(path: source) { seen.bytes += $0 })
        #expect(seen.bytes == sourceBytes(0, 1000))
    }

    @Test func finalMetadataReplacesAPlaceholderOfTheSameLength() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let source = try makeSource(in: dir)
        let path = dir.appendingPathComponent("m.safetensors").path
        try SafeTensorsWriter.write(
            layout, metadata: ["digest": String(repeating: "0", count: 64)], to: path,
            streaming: { index in
                .file(FileRange(path: source, member: "t", offset: 100 * index, count: layout[index].byteCount))
            },
            finalMetadata: { ["digest": String(repeating: "ab", count: 32)] })
        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == ["digest": String(repeating: "ab", count: 32)])
        #expect(try file.tensor(named: "c").bytes == sourceBytes(200, 32))
    }

    @Test func finalMetadataOfAnotherLengthIsRefused() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsWriter.write(
                layout, metadata: ["digest": "0"], to: path,
                streaming: { .bytes([UInt8](repeating: 1, count: layout[$0].byteCount)) },
                finalMetadata: { ["digest": String(repeating: "0", count: 64)] })
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test(
        arguments: [(995, "the tensor's bytes end at offset 1007, but the file holds only 1000 bytes"), (-1, "end")],
        [false, true])
    func aRangeOutsideTheSourceNamesTheSource(_ example: (offset: Int, message: String), _ streamed: Bool) throws {
        let (offset, message) = example
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let source = try makeSource(in: dir)
        let path = dir.appendingPathComponent("m.safetensors").path
        let error = #expect(throws: FileError.self) {
            try SafeTensorsWriter.write(
                layout, to: path,
                streaming: { index in
                    .file(
                        FileRange(path: source, member: "layer/kernel", offset: offset, count: layout[index].byteCount))
                }, streamedSource: streamed ? SafeTensorsWriter.StreamedSource(path: source) { _ in } : nil)
        }
        #expect(error?.path == source)
        #expect(error?.member == "layer/kernel")
        #expect(error?.reason.contains(message) == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["source.bin"])
    }

    @Test func aMissingSourceNamesIt() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        let missing = dir.appendingPathComponent("gone.h5").path
        let error = #expect(throws: FileError.self) {
            try SafeTensorsWriter.write(
                layout, to: path,
                streaming: { .file(FileRange(path: missing, member: "w", offset: 0, count: layout[$0].byteCount)) })
        }
        #expect(error?.path == missing)
        #expect(error?.reason.contains("cannot be opened") == true)
    }

    @Test func aRangeOfTheWrongSizeIsRefused() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let source = try makeSource(in: dir)
        let path = dir.appendingPathComponent("m.safetensors").path
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsWriter.write(
                layout, to: path,
                streaming: { .file(FileRange(path: source, member: "w", offset: 0, count: layout[$0].byteCount + 1)) })
        }
    }
}

/// `FileIO`'s copy and comparison, on ranges that straddle the mapping windows.
@Suite struct FileIOTests {
    @Test(arguments: [(0, 0, 1), (1, 4095, 10_000), (4097, 3, 300_000)])
    func copyThenCompare(_ sourceOffset: Int, _ destinationOffset: Int, _ count: Int) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let sourcePath = dir.appendingPathComponent("s").path
        let destinationPath = dir.appendingPathComponent("d").path
        let bytes = (0..<(sourceOffset + count)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        try Data(bytes).write(to: URL(fileURLWithPath: sourcePath))
        let source = open(sourcePath, O_RDONLY)
        let destination = open(destinationPath, O_RDWR | O_CREAT, 0o600)
        defer {
            close(source)
            close(destination)
        }
        #expect(
            FileIO.copy(from: source, at: sourceOffset, to: destination, at: destinationOffset, count: count) == nil)
        let written = [UInt8](try Data(contentsOf: URL(fileURLWithPath: destinationPath)))
        #expect(Array(written[destinationOffset...]) == Array(bytes[sourceOffset...]))
        // Small windows so the comparison crosses several.
        #expect(FileIO.equalBytes(destination, at: destinationOffset, source, at: sourceOffset, count: count) == true)
        if count > 1 {
            #expect(
                FileIO.equalBytes(destination, at: destinationOffset + 1, source, at: sourceOffset, count: count - 1)
                    == false)
        }
    }

    @Test func copyingPastTheEndOfTheSourceFails() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let sourcePath = dir.appendingPathComponent("s").path
        try Data(repeating: 1, count: 100).write(to: URL(fileURLWithPath: sourcePath))
        let source = open(sourcePath, O_RDONLY)
        let destination = open(dir.appendingPathComponent("d").path, O_RDWR | O_CREAT, 0o600)
        defer {
            close(source)
            close(destination)
        }
        #expect(FileIO.copy(from: source, at: 50, to: destination, at: 0, count: 100) == EIO)
    }
}
