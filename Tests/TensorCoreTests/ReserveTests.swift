import Foundation
import TensorCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `AtomicFile.reserve` allocates the file's blocks before it is written, leaves its size to the writes, and fails
/// early, with the file's name and the bytes it needed, when the disk or the file system cannot hold it.
@Suite struct ReserveTests {
    private static func status(_ path: String) throws -> stat {
        var status = stat()
        try #require(stat(path, &status) == 0)
        return status
    }

    @Test func reservedBlocksAreThereBeforeAnyWriteAndTheSizeFollowsTheWrites() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir.appendingPathComponent("model.safetensors").path
        let file = try AtomicFile(replacing: path)
        let count = 3 << 20
        let descriptor = open(file.temporaryPath, O_WRONLY | O_CLOEXEC)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let failure = FileIO.reserve(descriptor, count: count)
        let reserved = try Self.status(file.temporaryPath)
        #expect(reserved.st_size == 0)
        if let failure {
            // A file system without preallocation: nothing changed, and the writer goes on as before.
            #expect(failure == EOPNOTSUPP)
            #expect(reserved.st_blocks == 0)
        } else {
            #expect(Int(reserved.st_blocks) * 512 >= count)
        }
        try file.reserve(count)
        try file.write([UInt8](repeating: 7, count: 1000))
        #expect(try Self.status(file.temporaryPath).st_size == 1000)
        try file.commit { _ in }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(repeating: 7, count: 1000))
    }

    @Test func aFileTheFileSystemCannotHoldFailsBeforeAnythingIsWritten() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir.appendingPathComponent("huge.safetensors").path
        let count = 1 << 62
        do {
            let file = try AtomicFile(replacing: path)
            let error = #expect(throws: FileError.self) { try file.reserve(count) }
            #expect(error?.path == path)
            #expect(error?.reason.hasPrefix("cannot be written: ") == true)
            #expect(error?.reason.hasSuffix("(\(count) bytes needed)") == true)
        }
        // The writer that failed leaves nothing behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func nothingToReserveIsNoCall() {
        #expect(FileIO.reserve(-1, count: 0) == nil)
        #expect(FileIO.reserve(-1, count: 10) == EBADF)
    }
}
