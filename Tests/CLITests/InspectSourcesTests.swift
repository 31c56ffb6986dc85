import Foundation
import TestSupport
import Testing

/// `inspect --format json` on every kind of source tfparity reads.
@Suite struct InspectSourcesTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var options: [String] = []
        var kind: String
        /// Batch-norm layers the report must list (by name); nil for a listing without layers.
        var batchNorms: [String]?
        var testDescription: String { "\(kind): \(file)" }
    }

    static let cases: [Case] = [
        Case(
            file: "Fixtures/seed/params.npz", options: ["--spec", "Fixtures/seed/spec.yaml"], kind: "npz",
            batchNorms: ["layer0/bn", "layer1/bn"]),
        Case(
            file: "Fixtures/seed/params.h5", options: ["--spec", "Fixtures/seed/spec.json"], kind: "hdf5",
            batchNorms: ["layer0/bn", "layer1/bn"]),
        Case(file: "Fixtures/seed/params.npz", kind: "npz"),
        Case(file: "Fixtures/readers/npy/tree", kind: "npy-directory"),
        Case(file: "Fixtures/readers/npy/f4_be.npy", kind: "npy"),
        Case(file: "Examples/RuntimeExample/cnn-recording.safetensors", kind: "safetensors"),
        Case(file: "Fixtures/checkpoints/tf1/model.ckpt", kind: "tf-checkpoint"),
        Case(
            file: "Fixtures/checkpoints/tf1/model.ckpt", options: ["--spec", "Fixtures/seed/spec.yaml"],
            kind: "tf-checkpoint", batchNorms: ["layer0/bn", "layer1/bn"]),
        Case(file: "Fixtures/checkpoints/saved_model", kind: "saved-model"),
        Case(
            file: "Fixtures/keras/mlp_bn_variants/model.h5", kind: "keras2-h5",
            batchNorms: ["bn_noscale", "bn_nocenter", "bn_eps1e5"]),
        Case(
            file: "Fixtures/keras/residual/model.h5", kind: "keras3-h5",
            batchNorms: ["stem_bn", "res_bn1", "res_bn2", "concat_bn"]),
        Case(file: "Fixtures/keras/cnn/model.keras", kind: "keras3-keras", batchNorms: ["bn1", "bn2", "bn3"]),
        Case(
            file: "Fixtures/keras/mlp_weights_config/model.weights.h5",
            options: ["--config", "Fixtures/keras/mlp_weights_config/config.json"], kind: "keras3-weights",
            batchNorms: ["bn_a", "bn_b"]),
    ]

    @Test(arguments: cases)
    func jsonDescribesTheSource(_ c: Case) throws {
        let result = try runTFParity(["inspect", c.file, "--format", "json"] + c.options)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["kind"] as? String == c.kind)
        if let batchNorms = c.batchNorms {
            let layers = try #require(object["layers"] as? [[String: Any]])
            #expect(!layers.isEmpty)
            let bns = try #require(object["batchnorm"] as? [[String: Any]])
            #expect(bns.compactMap { $0["name"] as? String } == batchNorms)
            for bn in bns {
                let variance = try #require(bn["moving_variance"] as? [String: Double])
                #expect(Set(variance.keys) == ["min", "p25", "median", "p75", "max", "mean"])
                #expect(bn["epsilon"] is Double && bn["variance_below_epsilon"] is Int)
            }
        } else {
            // A listing: every tensor (or checkpoint variable) with dtype and shape.
            let entries = (object["tensors"] ?? object["variables"]) as? [[String: Any]]
            let listed = try #require(entries, "no tensor listing in \(object.keys.sorted())")
            #expect(!listed.isEmpty)
            #expect(listed.allSatisfy { $0["name"] is String && $0["dtype"] is String && $0["shape"] is [Int] })
        }
    }

    @Test func convertedModelToo() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = dir.appendingPathComponent("m.safetensors").path
        #expect(try runTFParity(["convert", "Fixtures/keras/mobilenet_block/model.h5", "-o", model, "-q"]).status == 0)
        let result = try runTFParity(["inspect", model, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["kind"] as? String == "tfparity-model")
        #expect((object["provenance"] as? [String: Any])?["source_kind"] as? String == "keras2-h5")
        #expect((object["batchnorm"] as? [[String: Any]])?.count == 6)
    }
}
