import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The model file is written to a temporary file beside it and renamed into place: interrupted or failed runs leave
/// nothing behind and never damage an existing file. (`Scripts/kill_test.sh` covers kill -9 at random moments.)
@Suite struct CrashSafeOutputTests {
    static let seedArguments = ["convert", "Fixtures/seed/params.npz", "--spec", "Fixtures/seed/spec.yaml", "-o"]

    @Test func convertingOverItsOwnInputIsAUsageError() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("m.safetensors").path
        #expect(try runTFParity(Self.seedArguments + [model]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: model))
        // An output naming an input is refused before anything is read or written (CONTRACT: exit 64).
        let again = try runTFParity([
            "convert", model, "--spec", "Fixtures/seed/spec.yaml", "-o", model,
        ])
        #expect(again.status == 64, "\(again.stderr)")
        #expect(again.stderr.contains("names the input source '\(model)'"), "\(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.safetensors"])
    }

    /// The same for an ONNX export: its file's blocks are allocated before any byte is written.
    @Test(.enabled(if: getuid() == 0)) func fullDiskRefusesAnONNXExportBeforeWriting() throws {
        let roomy = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(roomy) }
        let model = roomy.appendingPathComponent("cnn.safetensors").path
        #expect(try runTFParity(["convert", "Fixtures/keras/cnn/model.h5", "-o", model]).status == 0)
        let written = roomy.appendingPathComponent("cnn.onnx").path
        #expect(try runTFParity(["export", model, "--onnx", written]).status == 0)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: written)[.size] as? Int)
        try #require(size > 4096, "the fixture's ONNX file must not fit the 4 KiB disk")

        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        try #require(mount("tmpfs", dir.path, "tmpfs", 0, "size=4k") == 0, "cannot mount a tmpfs")
        defer { umount(dir.path) }
        let output = dir.appendingPathComponent("cnn.onnx").path
        let result = try runTFParity(["export", model, "--onnx", output])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(
            result.stderr == "error: \(output): cannot be written: No space left on device (\(size) bytes needed)\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// Every writer names a missing output directory once, in the output file's own words.
    @Test(arguments: ["convert", "export --npz", "export --onnx"])
    func aMissingDirectoryIsNamedOnce(_ command: String) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("m.safetensors").path
        let output = dir.appendingPathComponent("no/out").path
        let arguments: [String]
        if command == "convert" {
            arguments = Self.seedArguments + [output]
        } else {
            #expect(try runTFParity(Self.seedArguments + [model]).status == 0)
            arguments = ["export", model] + command.split(separator: " ").dropFirst().map(String.init) + [output]
        }
        let result = try runTFParity(arguments)
        #expect(result.status == 2)
        #expect(
            result.stderr == "error: \(output): cannot be written: directory '\(dir.path)/no' does not exist\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0 != "m.safetensors" }.isEmpty)
    }

    @Test func readOnlyDirectoryExits2() throws {
        let dir = try makeTemporaryDirectory()
        defer {
            chmod(dir.path, 0o755)
            removeTemporaryDirectory(dir)
        }
        chmod(dir.path, 0o555)
        // root ignores directory permissions; a read-only bind is what stops it.
        guard getuid() != 0 else { return try readOnlyMountExits2() }
        let result = try runTFParity(Self.seedArguments + [dir.appendingPathComponent("m.safetensors").path])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("error: \(dir.path)/m.safetensors"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    private func readOnlyMountExits2() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        try #require(mount("tmpfs", dir.path, "tmpfs", UInt(MS_RDONLY), "size=1m") == 0, "cannot mount a tmpfs")
        defer { umount(dir.path) }
        let result = try runTFParity(Self.seedArguments + [dir.appendingPathComponent("m.safetensors").path])
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// A 16 KiB tmpfs (mounted when running as root) cannot hold the seed model: exit 2, nothing left behind, and an
    /// existing small file there is untouched.
    @Test(.enabled(if: getuid() == 0)) func fullDiskExits2() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        try #require(mount("tmpfs", dir.path, "tmpfs", 0, "size=4k") == 0, "cannot mount a tmpfs")
        defer { umount(dir.path) }
        let existing = dir.appendingPathComponent("m.safetensors")
        try Data("previous".utf8).write(to: existing)
        let result = try runTFParity(Self.seedArguments + [existing.path])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        // Found before any tensor is written, for the whole file (`AtomicFile.reserve`): as many bytes as the model
        // written where there is room.
        let roomy = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(roomy) }
        let written = roomy.appendingPathComponent("m.safetensors").path
        #expect(try runTFParity(Self.seedArguments + [written]).status == 0)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: written)[.size] as? Int)
        #expect(
            result.stderr
                == "error: \(existing.path): cannot be written: No space left on device (\(size) bytes needed)\n")
        #expect(try Data(contentsOf: existing) == Data("previous".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.safetensors"])
    }
}
