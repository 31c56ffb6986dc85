import Foundation
import ParityModel
import TestSupport
import Testing

@testable import Importers

/// Every input a fuzzer once crashed on (`Fuzz/regressions/<target>/`) is now refused without trapping.
@Suite struct FuzzRegressionTests {
    static let specInputs: [String] = {
        let directory = repositoryRoot.appendingPathComponent("Fuzz/regressions/spec").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            .map { directory + "/" + $0 }
    }()

    @Test(arguments: specInputs)
    func specParserDoesNotTrap(_ path: String) throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: SpecError.self) { try Spec.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.yaml") }
    }

    /// `Fuzz/regressions/hdf5-probe/`, relative to the repository root (as the error line names them).
    static let hdf5ProbeInputs: [String] = {
        let directory = "Fuzz/regressions/hdf5-probe"
        let absolute = repositoryRoot.appendingPathComponent(directory).path
        return ((try? FileManager.default.contentsOfDirectory(atPath: absolute)) ?? []).sorted()
            .map { directory + "/" + $0 }
    }()

    /// HDF5 files whose link walk libhdf5 fails on: the isolation child used to stop at the failure, so the parent's
    /// Keras readers (which open groups by path) met the crash or the hang themselves. Now the child walks past it,
    /// meets them first, and the parent refuses the file with one line.
    @Test(arguments: hdf5ProbeInputs)
    func hdf5ProbeClassifiesWhatTheChildMeets(_ path: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.safetensors").path
        let config = path.hasSuffix(".weights.h5") ? ["--config", "Fixtures/keras/mlp_weights_config/config.json"] : []
        let result = try runTFParity(
            ["convert", path, "-o", output, "--quiet"] + config, environment: ["TFPARITY_HDF5_PROBE_TIMEOUT": "2"])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.hasPrefix("error: \(path): libhdf5 ") == true, "\(result.stderr)")
        #expect((try FileManager.default.contentsOfDirectory(atPath: directory.path)).isEmpty)
    }

    @Test func nonScalarMappingKeyIsAnError() {
        #expect(throws: SpecError.self) { try Spec.parse("layers:\n  - {[a]: b}\n", path: "k.yaml") }
        #expect(throws: SpecError.self) { try Spec.parse("? [a]\n: b\n", path: "k.yaml") }
    }
}

/// A spec names any registered operation by its model-file type, with its attributes as the model file spells them.
@Suite struct SpecRegistryEntryTests {
    @Test func croppingEntry() throws {
        let spec = try Spec.parse(
            "layers:\n  - {type: cropping2d, name: crop, cropping: [1, 2, 0, 3]}\n", path: "spec.yaml")
        let op = try #require(spec.layers.first?.op as? Cropping2D)
        #expect(op == Cropping2D(top: 1, bottom: 2, left: 0, right: 3))
    }

    @Test func outOfRangeAttributeIsRefusedWhenPlanned() throws {
        let spec = try Spec.parse("layers:\n  - {type: cropping2d, cropping: [1, -2, 0, 3]}\n", path: "spec.yaml")
        let layer = try #require(spec.layers.first)
        #expect(
            throws: EngineError.layer(
                "cropping2d_0",
                .attribute("cropping", value: "[1, -2, 0, 3]", reason: "must be non-negative and at most 65536"))
        ) {
            try LayerGraph.check([Layer(name: layer.name, op: layer.op, inputs: ["input"])]) { _ in nil }
        }
    }
}
