import Foundation
import ParityModel
import Importers
import Reports
import TFParityKit
import TestSupport
import Testing

/// Model files written by tfparity 0.1.0 (`format_version` 1, Fixtures/models/v1) still load, equal a fresh
/// conversion of the same source, and pass verify against the recording they were made for.
@Suite struct ModelFileCompatibilityTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var model: String
        var source: String
        var spec: String?
        var recording: String
        var testDescription: String { model }
    }

    static let cases = [
        Case(model: "seed", source: "seed/params.npz", spec: "seed/spec.yaml", recording: "seed/recording.npz"),
        Case(model: "cnn", source: "keras/cnn/model.keras", recording: "keras/cnn/recording.h5"),
        Case(model: "residual", source: "keras/residual/model.h5", recording: "keras/residual/recording.h5"),
        Case(
            model: "mobilenet_block", source: "keras/mobilenet_block/model.h5",
            recording: "keras/mobilenet_block/recording.h5"),
        Case(
            model: "mlp_bn_variants", source: "keras/mlp_bn_variants/model.h5",
            recording: "keras/mlp_bn_variants/recording.h5"),
    ]

    @Test(arguments: cases)
    func version1ModelsLoadAndVerify(_ c: Case) throws {
        let path = fixture("models/v1/\(c.model).safetensors").path
        let old = try ModelFile.read(path: path)
        let (fresh, _) = try Converter.loadModel(source: fixture(c.source).path, spec: c.spec.map { fixture($0).path })
        #expect(old.layers == fresh.layers)
        #expect(Set(old.parameters.keys) == Set(fresh.parameters.keys))
        let report = try Verifier.verify(
            model: path, recording: fixture(c.recording).path, options: VerifyOptions(endToEnd: true))
        #expect(report.passed)
        #expect(report.results.count > 0)
    }
}
