import Foundation
import Importers
import ParityModel
import Reports
import SafeTensors
import TensorCore
import TestSupport
import Testing

@testable import TFParityKit

/// `convert` copies tensors an HDF5 file stores contiguously straight from the file, and writes the source's SHA-256
/// (computed from the same read of the file) into the provenance: the model must hold exactly what reading every
/// tensor gives.
@Suite struct ConvertCopyTests {
    @Test(
        arguments: [
            ("keras/cnn/model.h5", nil), ("keras/cnn/model.keras", nil), ("keras/mobilenet_block/model.h5", nil),
            ("keras/mlp_weights_config/model.weights.h5", "keras/mlp_weights_config/config.json"),
            ("seed/params.h5", nil),
        ] as [(String, String?)])
    func convertedModelEqualsTheLoadedOne(_ source: String, _ config: String?) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let sourcePath = fixture(source).path
        let spec = source.hasPrefix("seed/") ? fixture("seed/spec.yaml").path : nil
        let output = dir.appendingPathComponent("m.safetensors").path
        _ = try Converter.convert(
            source: sourcePath, spec: spec, config: config.map { fixture($0).path }, output: output)

        let written = try ModelFile.read(path: output)
        let (loaded, _) = try Converter.loadModel(
            source: sourcePath, spec: spec, config: config.map { fixture($0).path })
        #expect(written.parameters.keys.sorted() == loaded.parameters.keys.sorted())
        for (name, tensor) in loaded.parameters {
            #expect(written.parameters[name] == tensor, "\(name)")
        }
        #expect(written.provenance?.sha256 == (try Converter.sha256(ofFile: sourcePath)))
        #expect(written.provenance == loaded.provenance)
    }

    @Test func theExtractionOfAKerasArchiveLivesAsLongAsItsPlan() throws {
        let keras = fixture("keras/cnn/model.keras").path
        var extraction: String?
        do {
            let (plan, _) = try Converter.plan(source: keras, spec: nil)
            extraction = plan.parameters.values.first?.stored?.path
            let path = try #require(extraction)
            #expect(FileManager.default.fileExists(atPath: path))
            #expect(!path.hasPrefix(keras))
        }
        // The plan is gone: so is the private file.
        #expect(!FileManager.default.fileExists(atPath: try #require(extraction)))
    }

    @Test func anExtractionAKilledRunLeftIsRemovedByTheNext() throws {
        let directory = FileManager.default.temporaryDirectory.path
        let stale = directory + "/tfparity-extracted-\(UUID().uuidString).weights.h5"
        let live = directory + "/tfparity-extracted-\(UUID().uuidString).weights.h5"
        for path in [stale, live] {
            #expect(
                FileManager.default.createFile(
                    atPath: path, contents: Data([1]), attributes: [.posixPermissions: 0o600]))
            // Untouched for two minutes.
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSinceNow: -120)], ofItemAtPath: path)
        }
        // A run still using `live` holds a lock on it.
        let holder = open(live, O_RDONLY)
        defer {
            close(holder)
            unlink(live)
        }
        #expect(flock(holder, LOCK_SH) == 0)
        _ = try Converter.plan(source: fixture("keras/cnn/model.keras").path, spec: nil)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live))
    }

    @Test func contiguousHDF5TensorsAreCopiedFromTheFile() throws {
        // Keras' h5py writes weights contiguous and unfiltered: every kernel of the CNN is a copyable range.
        let (plan, _) = try Converter.plan(source: fixture("keras/cnn/model.h5").path, spec: nil)
        #expect(!plan.parameters.isEmpty)
        #expect(plan.parameters.values.allSatisfy { $0.stored != nil })
        // A .keras file's weights are extracted to a private file and copied from there; errors name the member.
        let keras = fixture("keras/cnn/model.keras").path
        let (archive, _) = try Converter.plan(source: keras, spec: nil)
        #expect(!archive.parameters.isEmpty)
        #expect(archive.parameters.values.allSatisfy { $0.stored?.displayPath == "\(keras): model.weights.h5" })
        #expect(archive.retained.count == 1)
    }
}
