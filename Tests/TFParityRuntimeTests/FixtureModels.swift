import Foundation
import TFParityKit
import TestSupport
import Testing

/// A fixture network, its source and the recording TensorFlow made of it.
struct FixtureModel: Sendable, CustomTestStringConvertible {
    var name: String
    var source: String
    var spec: String?
    var recording: String
    var testDescription: String { name }

    static let seed = FixtureModel(
        name: "seed", source: "seed/params.npz", spec: "seed/spec.yaml", recording: "seed/recording.npz")
    static let cnn = FixtureModel(
        name: "cnn", source: "keras/cnn/model.keras", spec: nil, recording: "keras/cnn/recording.h5")
    static let all: [FixtureModel] = [
        seed, cnn,
        FixtureModel(
            name: "mobilenet_block", source: "keras/mobilenet_block/model.h5", spec: nil,
            recording: "keras/mobilenet_block/recording.h5"),
        FixtureModel(
            name: "residual", source: "keras/residual/model.keras", spec: nil,
            recording: "keras/residual/recording.h5"),
        FixtureModel(
            name: "mlp_bn_variants", source: "keras/mlp_bn_variants/model.h5", spec: nil,
            recording: "keras/mlp_bn_variants/recording.h5"),
    ]

    var recordingPath: String { fixture(recording).path }

    /// Converts the fixture into `directory`, returning the model file's path.
    func convert(into directory: URL) throws -> String {
        let output = directory.appendingPathComponent("\(name).safetensors").path
        _ = try Converter.convert(source: fixture(source).path, spec: spec.map { fixture($0).path }, output: output)
        return output
    }
}

/// The contract's default tolerance, `|actual - expected| <= 1e-5 + 1e-4 * |expected|`.
let contractAtol = 1e-5
let contractRtol = 1e-4
