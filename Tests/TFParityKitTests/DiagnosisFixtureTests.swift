import Foundation
import ParityModel
import Importers
import Reports
import TFParityKit
import TestSupport
import Testing

/// Converts `Fixtures/<name>/params.npz` with its spec into a model file in `directory`.
func convertFixtureModel(_ name: String, into directory: URL, source: String = "params.npz") throws -> String {
    let output = directory.appendingPathComponent("\(name).safetensors").path
    _ = try Converter.convert(
        source: fixture("\(name)/\(source)").path, spec: fixture("\(name)/spec.yaml").path, output: output)
    return output
}

@Suite struct DiagnosisFixtureTests {
    @Test func manifestIsPresent() {
        #expect(ManifestEntry.load().count >= 8)
    }

    /// Every recording made with a known mistake fails exactly at the layers it affects, with its diagnosis id.
    @Test(arguments: ManifestEntry.load())
    func recordingFailsWithItsDiagnosis(_ entry: ManifestEntry) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try convertFixtureModel(entry.model, into: dir)
        let recording = fixture("diagnosis").appendingPathComponent(entry.recording).standardized.path
        let report = try Verifier.verify(model: model, recording: recording)

        let failing = report.results.filter { !$0.passed }
        #expect(Set(failing.map(\.layer)) == Set(entry.affectedLayers))
        #expect(failing.allSatisfy { $0.stage == .postBN }, "only post_bn stages may fail in local checks")
        #expect(report.passed == (entry.expectedID == nil))
        guard let layer = entry.layer, let expectedID = entry.expectedID else { return }
        let result = try #require(failing.first { $0.layer == layer })
        let diagnosis = try #require(result.diagnosis, "no diagnosis for \(layer)")
        #expect(diagnosis.id == expectedID)
        if let epsilon = entry.epsilon {
            let fitted = try #require(diagnosis.epsilon)
            #expect(abs(fitted - epsilon) <= 0.01 * epsilon, "fitted epsilon \(fitted), recorded with \(epsilon)")
        }
    }

    /// The hand formula of the developers' guide gives 0.543057 where TensorFlow gives 0.30664611.
    @Test func epsilonOutsideTheRootGivesTheWrongNumber() {
        let wrong = BatchNormDiagnosis.epsilonOutsideSqrt(
            -0.077417567, mean: -0.089603029, variance: 0.000436493, gamma: 1.0055743, beta: -0.016652612, epsilon: 1e-3
        )
        expectClose([wrong], [0.543057], atol: 1e-6, rtol: 0)
        let right = BatchNormalization.apply(
            -0.077417567, mean: -0.089603029, variance: 0.000436493, gamma: 1.0055743, beta: -0.016652612, epsilon: 1e-3
        )
        expectClose([right], [0.30664611], atol: 1e-6, rtol: 0)
    }

    /// Diagnosis from the worked example alone: a one-channel layer whose recording used epsilon outside the root.
    @Test func workedExampleIsDiagnosed() {
        let xs: [Float] = [-0.077417567, -0.1, -0.05, -0.12]
        let parameters = BatchNormDiagnosis.Parameters(
            mean: [-0.089603029], variance: [0.000436493], gamma: [1.0055743], beta: [-0.016652612], epsilon: 1e-3)
        let ys = xs.map {
            Float(
                BatchNormDiagnosis.epsilonOutsideSqrt(
                    Double($0), mean: -0.089603029, variance: 0.000436493, gamma: 1.0055743, beta: -0.016652612,
                    epsilon: 1e-3))
        }
        let diagnosis = BatchNormDiagnosis.diagnose(x: xs, y: ys, parameters: parameters, inner: 1, tolerance: .default)
        #expect(diagnosis?.id == "eps-outside-sqrt")
    }
}

@Suite struct VerifyTests {
    @Test(arguments: ["seed", "tiny_variance"])
    func passingRecordingPassesEveryStage(_ name: String) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try convertFixtureModel(name, into: dir)
        for recording in ["recording.npz", "recording.h5"] {
            let report = try Verifier.verify(
                model: model, recording: fixture("\(name)/\(recording)").path, options: VerifyOptions(endToEnd: true))
            #expect(report.passed, "\(name)/\(recording)")
            let stages = Set(report.results.map(\.stage))
            #expect(stages == [.preBN, .postBN, .output, .endToEnd])
            #expect(report.results.filter { $0.stage == .postBN }.count == 2)
            #expect(report.ignoredKeys.isEmpty)
        }
    }

    @Test func endToEndCatchesDownstreamEffects() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try convertFixtureModel("seed", into: dir)
        let report = try Verifier.verify(
            model: model, recording: fixture("diagnosis/no-beta.npz").path, options: VerifyOptions(endToEnd: true))
        let failingEndToEnd = report.results.filter { $0.stage == .endToEnd && !$0.passed }.map(\.tensor)
        // The recording's layer0/bn post_bn is wrong; every downstream tensor was computed by TF from it.
        #expect(failingEndToEnd.contains("layer0/bn/post_bn"))
        #expect(failingEndToEnd.contains("output"))
        #expect(!failingEndToEnd.contains("layer0/bn/pre_bn"))
    }

    @Test func looseToleranceTurnsAFailureIntoAPass() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try convertFixtureModel("seed", into: dir)
        let report = try Verifier.verify(
            model: model, recording: fixture("diagnosis/no-beta.npz").path,
            options: VerifyOptions(tolerance: Tolerance(atol: 10, rtol: 0)))
        #expect(report.passed)
    }
}

@Suite struct ConvertTests {
    /// NPZ and HDF5 dumps of the same variables give the same model.
    @Test func npzAndHDF5GiveTheSameModel() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let fromNPZ = try ModelFile.read(path: convertFixtureModel("seed", into: dir, source: "params.npz"))
        let h5Dir = dir.appendingPathComponent("h5")
        try FileManager.default.createDirectory(at: h5Dir, withIntermediateDirectories: true)
        let fromHDF5 = try ModelFile.read(path: convertFixtureModel("seed", into: h5Dir, source: "params.h5"))
        #expect(fromNPZ.layers == fromHDF5.layers)
        #expect(fromNPZ.parameters == fromHDF5.parameters)
        #expect(fromNPZ.parameters.count == 14)
        #expect(fromNPZ.provenance?.sourceKind == "npz")
        #expect(fromHDF5.provenance?.sourceKind == "hdf5")
        #expect(fromNPZ.provenance?.sha256.count == 64)
    }

    // FIPS 180-4 examples, one and two blocks, and the empty message.
    @Test(arguments: [
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        // One million 'a': crosses the 1 MiB read chunks and leaves a partial block between them.
        (String(repeating: "a", count: 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    ])
    func sha256MatchesKnownVectors(_ message: String, _ digest: String) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let file = dir.appendingPathComponent("message")
        try Data(message.utf8).write(to: file)
        #expect(try Converter.sha256(ofFile: file.path) == digest)
    }
}
