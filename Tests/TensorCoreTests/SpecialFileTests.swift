import Foundation
import TensorCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// FIFOs, devices and directories are refused by `FileIO.openRegularFile` without blocking, and `AtomicFile` never
/// renames over them.
@Suite struct SpecialFileTests {
    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let fifo = dir.appendingPathComponent("pipe.npy").path
        try #require(mkfifo(fifo, 0o600) == 0)
        let started = Date()
        guard case .failure(let failure) = FileIO.openRegularFile(fifo) else {
            Issue.record("a FIFO was opened as a regular file")
            return
        }
        #expect(failure.reason == "is a FIFO (named pipe), not a regular file")
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(FileIO.checkRegularFile(fifo) != nil)
    }

    @Test func devicesAndDirectoriesAreRefused() throws {
        guard case .failure(let device) = FileIO.openRegularFile("/dev/null") else {
            Issue.record("/dev/null opened as a regular file")
            return
        }
        #expect(device.reason == "is a character device, not a regular file")
        guard case .failure(let directory) = FileIO.openRegularFile("/tmp") else {
            Issue.record("a directory opened as a regular file")
            return
        }
        #expect(directory.number == EISDIR)
        #expect(FileIO.checkDirectory("/tmp") == nil)
        #expect(FileIO.checkDirectory("/dev/null")?.reason == "is a character device, not a directory")
        guard case .failure(let missing) = FileIO.openRegularFile("/nonexistent/x") else { return }
        #expect(missing.reason == "no such file")
    }

    @Test func readRegularFileRefusesWhatIsOverItsLimitWithoutReading() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let path = dir.appendingPathComponent("spec.yaml").path
        try Data("layers: []\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try FileIO.readRegularFile(path, limit: 100).get() == Array("layers: []\n".utf8))
        guard case .failure(let failure) = FileIO.readRegularFile(path, limit: 4) else { return }
        #expect(failure.reason == "is 11 bytes, more than the 4 bytes allowed for it")
    }

    @Test func atomicFileNeverReplacesASpecialFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let fifo = dir.appendingPathComponent("out.safetensors").path
        try #require(mkfifo(fifo, 0o600) == 0)
        let error = #expect(throws: FileError.self) { _ = try AtomicFile(replacing: fifo) }
        #expect(error?.reason == "cannot be written: is a FIFO (named pipe), not a regular file")
        #expect(FileIO.kind(of: fifo, followingLinks: false) == .fifo)

        // A FIFO made while the file is written is found by the check right before the rename.
        let later = dir.appendingPathComponent("later.safetensors").path
        do {
            let file = try AtomicFile(replacing: later)
            try file.write([1, 2, 3])
            try #require(mkfifo(later, 0o600) == 0)
            #expect(throws: FileError.self) { try file.commit { _ in } }
        }
        // The refused temporary file is gone with its writer.
        #expect(FileIO.kind(of: later, followingLinks: false) == .fifo)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == [
                "later.safetensors", "out.safetensors",
            ])
    }
}
