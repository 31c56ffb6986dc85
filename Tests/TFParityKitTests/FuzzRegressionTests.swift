import Foundation
import NumPyFormat
import ParityModel
import SafeTensors
import TFCheckpoint
import TestSupport
import Testing

@testable import Importers

/// One minimised input of `Fuzz/regressions/<target>/`.
struct FuzzRegression: Sendable, CustomTestStringConvertible {
    var target: String
    var path: String
    var testDescription: String { "\(target)/\((path as NSString).lastPathComponent)" }

    static let directory = repositoryRoot.appendingPathComponent("Fuzz/regressions")

    /// The folders of `Fuzz/regressions/`: one per fuzz target that has had a finding.
    static var targets: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    /// Every input of every libFuzzer target's folder (the HDF5 probe's, run through the CLI, are below).
    static let all: [FuzzRegression] = targets.filter { $0 != "hdf5-probe" }.flatMap { target in
        let folder = directory.appendingPathComponent(target).path
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            .map { FuzzRegression(target: target, path: folder + "/" + $0) }
    }
}

/// Every input a fuzzer once crashed on (`Fuzz/regressions/<target>/`) is now refused without trapping.
@Suite struct FuzzRegressionTests {
    /// What each libFuzzer target (`Fuzz/Sources/Fuzz*`) runs on its input, as far as the reader goes: a trap fails
    /// the whole test run, a thrown error is the contract.
    static let replays: [String: @Sendable ([UInt8]) throws -> Void] = [
        "npy": { bytes in _ = try NPYFile.decode(bytes, path: "fuzz.npy", member: nil) },
        "npz": { bytes in
            let archive = try NPZArchive(bytes: bytes, path: "fuzz.npz")
            for name in archive.names { _ = try? archive.tensor(named: name) }
        },
        "safetensors": { bytes in
            let file = try SafeTensorsFile(bytes: bytes, path: "fuzz.safetensors")
            for name in file.names { _ = try? file.tensor(named: name) }
        },
        "checkpoint": { bytes in
            // Like FuzzCheckpoint: the input is the index, beside the TF1 fixture's data shard.
            let directory = try makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try FileManager.default.copyItem(
                at: fixture("checkpoints/tf1/model.ckpt.data-00000-of-00001"),
                to: directory.appendingPathComponent("fuzz.ckpt.data-00000-of-00001"))
            try Data(bytes).write(to: directory.appendingPathComponent("fuzz.ckpt.index"))
            let bundle = try TensorBundle(path: directory.appendingPathComponent("fuzz.ckpt").path)
            for entry in bundle.entries { _ = try? bundle.tensor(named: entry.name) }
        },
        "spec": { bytes in _ = try Spec.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.yaml") },
    ]

    /// A folder of findings nothing replays would be a regression test that never runs.
    @Test func everyRegressionFolderIsReplayed() {
        for target in FuzzRegression.targets where target != "hdf5-probe" {
            #expect(Self.replays[target] != nil, "Fuzz/regressions/\(target)/ has no replay in FuzzRegressionTests")
        }
    }

    @Test(arguments: FuzzRegression.all)
    func readerDoesNotTrap(_ input: FuzzRegression) throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: input.path)))
        let replay = try #require(Self.replays[input.target])
        // Each input is one a reader used to trap, leak or run away on: now it is refused (or read) cleanly.
        do { try replay(bytes) } catch {}
    }

    static let specInputs: [String] = FuzzRegression.all.filter { $0.target == "spec" }.map(\.path)

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
