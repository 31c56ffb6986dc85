import Foundation
import NumPyFormat
import TensorCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SIGINT and SIGTERM during a convert: the temporary file goes, the exit code is 128 + signal, nothing is left.
@Suite struct InterruptTests {
    @Test(arguments: [SIGINT, SIGTERM])
    func interruptedConvertLeavesNothing(_ signalNumber: Int32) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        // 96 MiB of float32: long enough a write that the signal lands while the temporary file exists.
        let count = 24 << 20
        let kernel = Tensor(
            dtype: .float32, shape: [4096, count / 4096], bytes: [UInt8](repeating: 0x3f, count: count * 4))
        let source = dir.appendingPathComponent("big.npz").path
        try NPZWriter.write([(name: "W", tensor: kernel)], to: source)
        let spec = dir.appendingPathComponent("spec.yaml")
        try "layers:\n  - {type: dense, name: d, kernel: W}\n".write(to: spec, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)

        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("tfparity")
        process.arguments = [
            "convert", source, "--spec", spec.path, "-o", out.appendingPathComponent("m.safetensors").path, "-q",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var sawTemporary = false
        for _ in 0..<6000 where process.isRunning {
            if try FileManager.default.contentsOfDirectory(atPath: out.path).contains(where: { $0.contains(".tmp-") }) {
                sawTemporary = true
                break
            }
            usleep(2000)
        }
        kill(process.processIdentifier, signalNumber)
        process.waitUntilExit()
        let left = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(sawTemporary, "the signal must land while the model is being written")
        #expect(process.terminationReason == .exit && process.terminationStatus == 128 + signalNumber)
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
