import Foundation
import NumPyFormat
import TensorCore
import TestSupport
import Testing

/// Converting never holds a whole archive: an NPZ is read member by member, so peak memory grows with the largest
/// tensor, not with the file. (Memory, not time: peak RSS does not depend on how busy the machine is.)
@Suite(.serialized) struct StreamingMemoryTests {
    @Test func storedNPZConvertsWithinOneMemberOfMemory() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        // Four dense layers of 2048 × 2048 float32: 16 MiB each, a 64 MiB archive.
        let width = 2048
        var arrays: [(name: String, tensor: Tensor)] = []
        var spec = "layers:\n"
        for layer in 0..<4 {
            let kernel = (0..<(width * width)).map { Float(($0 &* 2_654_435_761 &+ layer) % 1000) / 1000 - 0.5 }
            arrays.append(("l\(layer)/W", Tensor(shape: [width, width], floats: kernel)))
            arrays.append(("l\(layer)/b", Tensor(shape: [width], floats: [Float](repeating: 0.25, count: width))))
            spec += "  - {type: dense, name: l\(layer), kernel: l\(layer)/W, bias: l\(layer)/b}\n"
        }
        let npz = dir.appendingPathComponent("big.npz").path
        try NPZWriter.write(arrays, to: npz)
        try spec.write(toFile: dir.appendingPathComponent("spec.yaml").path, atomically: true, encoding: .utf8)
        let archiveBytes = try #require(try FileManager.default.attributesOfItem(atPath: npz)[.size] as? Int)
        #expect(archiveBytes > 64 << 20)

        let baseline = try runTFParityMeasured(["--version"])
        let result = try runTFParityMeasured([
            "convert", npz, "--spec", dir.appendingPathComponent("spec.yaml").path, "-o",
            dir.appendingPathComponent("m.safetensors").path, "--quiet",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let growth = result.maxRSSBytes - baseline.maxRSSBytes
        // One 16 MiB member read, its tensor, and buffers — well under the 64 MiB archive (which reading the archive
        // whole would take twice over).
        #expect(growth < 48 << 20, "peak RSS grew by \(growth >> 20) MiB over the process's own")
    }
}
