import Foundation
import TestSupport
import Testing

@Suite struct PortingCLITests {
    /// A channels-first recording: exit 2 naming `layout-nchw` with the `--layout nchw` hint; with the flag, exit 0.
    @Test func channelsFirstRecordingNeedsTheLayoutFlag() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("porting.safetensors").path
        #expect(try runTFParity(["convert", "Fixtures/porting/model.keras", "-o", model]).status == 0)
        let plain = try runTFParity(["verify", model, "Fixtures/porting/nchw.npz"])
        #expect(plain.status == 2)
        #expect(plain.stderr.hasPrefix("error: Fixtures/porting/nchw.npz"))
        #expect(plain.stderr.contains("layout-nchw") && plain.stderr.contains("--layout nchw"))
        let transposed = try runTFParity(["verify", model, "Fixtures/porting/nchw.npz", "--layout", "nchw"])
        #expect(transposed.status == 0, "\(transposed.stdout)\(transposed.stderr)")
    }

    /// The JSON report carries the porting diagnosis with the layer it was found at.
    @Test func jsonNamesTheMistakeAndItsLayer() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("porting.safetensors").path
        #expect(try runTFParity(["convert", "Fixtures/porting/model.keras", "-o", model]).status == 0)
        let result = try runTFParity(["verify", model, "Fixtures/porting/kernel-flipped.npz", "--format", "json"])
        #expect(result.status == 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let layers = try #require(object["layers"] as? [[String: Any]])
        let diagnosed = layers.compactMap { $0["diagnosis"] as? [String: Any] }
        #expect(!diagnosed.isEmpty)
        #expect(diagnosed.allSatisfy { $0["id"] as? String == "kernel-flipped" && $0["layer"] as? String == "conv2" })
        let text = try runTFParity(["verify", model, "Fixtures/porting/kernel-flipped.npz"])
        #expect(text.stdout.contains("diagnosis kernel-flipped: layer 'conv2'"))
    }
}
