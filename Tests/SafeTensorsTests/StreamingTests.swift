import Foundation
import TensorCore
import TestSupport
import Testing

@testable import SafeTensors

@Suite struct StreamingWriteTests {
    struct SourceFailure: Error, Equatable {}

    let layout = [
        TensorLayout(name: "a", dtype: .float16, shape: [3]),
        TensorLayout(name: "b", dtype: .float32, shape: [2, 2]),
        TensorLayout(name: "c", dtype: .uint8, shape: [5]),
    ]

    func bytes(_ index: Int) -> [UInt8] {
        (0..<layout[index].byteCount).map { UInt8(truncatingIfNeeded: $0 * 7 + index) }
    }

    @Test func writesEachTensorFromTheClosure() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir.appendingPathComponent("s.safetensors").path
        var asked: [Int] = []
        try SafeTensorsWriter.write(layout, metadata: ["k": "v"], to: path) { index in
            asked.append(index)
            return bytes(index)
        }
        #expect(asked == [0, 1, 2])
        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == ["k": "v"])
        for (index, tensor) in layout.enumerated() {
            #expect(try file.tensor(named: tensor.name).bytes == bytes(index))
        }
        // The finished file is readable by others like any created file, not 0600 like the temporary one.
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o044 } == 0o044)
    }

    @Test func aFailingSourceLeavesNothingBehind() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir.appendingPathComponent("s.safetensors").path
        try Data("previous".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: SourceFailure()) {
            try SafeTensorsWriter.write(layout, to: path) { index in
                if index == 1 { throw SourceFailure() }
                return bytes(index)
            }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "previous")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["s.safetensors"])
    }

    @Test func aShortTensorIsAnError() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir.appendingPathComponent("s.safetensors").path
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsWriter.write(layout, to: path) { index in Array(bytes(index).dropLast()) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func aFileTruncatedAfterOpeningFailsToRead() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir.appendingPathComponent("s.safetensors").path
        try SafeTensorsWriter.write(layout, to: path) { bytes($0) }
        let file = try SafeTensorsFile(path: path)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 20)
        try handle.close()
        #expect(throws: SafeTensorsError.self) { try file.tensor(named: "c") }
    }

    /// The checksum must not depend on how the stream is cut: the writer feeds it tensor by tensor, the re-read
    /// in 4 MiB blocks.
    @Test(arguments: [[1, 2, 3], [8, 8], [7, 9, 0, 5], [16], [3, 3, 3, 3, 4]])
    func checksumIgnoresChunking(_ cuts: [Int]) {
        let stream = (0..<cuts.reduce(0, +)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var whole = DataChecksum()
        whole.update(stream)
        var pieces = DataChecksum()
        var start = 0
        for cut in cuts {
            pieces.update(Array(stream[start..<(start + cut)]))
            start += cut
        }
        #expect(pieces.value == whole.value)
        var other = DataChecksum()
        other.update(stream.map { $0 ^ 1 })
        #expect(stream.isEmpty || other.value != whole.value)
    }
}

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct AbandonedTemporaryFileTests {
    /// A temporary file of ours (0600) and its age in seconds.
    func makeTemporary(_ dir: URL, _ name: String, age: Int) throws -> String {
        let path = dir.appendingPathComponent(name).path
        #expect(
            FileManager.default.createFile(
                atPath: path, contents: Data("partial".utf8), attributes: [.posixPermissions: 0o600]))
        var times = [timespec(tv_sec: time(nil) - age, tv_nsec: 0), timespec(tv_sec: time(nil) - age, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        return path
    }

    /// What SIGKILL left behind goes on the next write; a live writer's file (locked) and a fresh one stay.
    @Test func nextWriteRemovesWhatAKilledWriterLeft() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let stale = try makeTemporary(dir, ".m.safetensors.tmp-dead", age: 600)
        let fresh = try makeTemporary(dir, ".m.safetensors.tmp-fresh", age: 0)
        let locked = try makeTemporary(dir, ".m.safetensors.tmp-live", age: 600)
        let other = try makeTemporary(dir, ".other.safetensors.tmp-dead", age: 600)
        let holder = open(locked, O_RDONLY)
        #expect(flock(holder, LOCK_EX | LOCK_NB) == 0)
        defer { close(holder) }

        try SafeTensorsWriter.write(
            [(name: "t", tensor: Tensor(shape: [1], floats: [1]))], to: dir.appendingPathComponent("m.safetensors").path
        )

        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: fresh))
        #expect(FileManager.default.fileExists(atPath: locked))
        #expect(FileManager.default.fileExists(atPath: other), "another destination's files are not ours to judge")
    }
}
