import Foundation
import NumPyFormat
import ParityModel
import TFParityKit
import TensorCore
import TestSupport
import Testing

@testable import Importers

/// The Keras graph builder on the real fixtures of issue 14: nested models, several inputs and outputs, TF function
/// layers (Fixtures/keras, made by Scripts/fixtures/keras_models.py).
@Suite struct KerasGraphTests {
    static func load(_ file: String) throws -> Model {
        try Converter.loadModel(source: fixture("keras/\(file)").path, spec: nil).0
    }

    /// Both flavours name a nested model's layers `<nested>/<layer>`, its second call `<nested>_1/<layer>` with the
    /// same weights, and give the nested model's name to an identity layer carrying its output.
    @Test(arguments: ["nested/model.keras", "nested/model.h5"])
    func nestedModelsAreFlattened(_ file: String) throws {
        let model = try Self.load(file)
        #expect(
            model.layers.map(\.name) == [
                "base/conv1", "base/bn1", "base/relu1", "base/conv2", "base/bn2", "base/relu2", "base",
                "head/block/conv", "head/block/bn", "head/block/relu", "head/block", "head/dw", "head/dw_bn", "head",
                "gap", "proj/dense", "proj/tanh", "proj", "proj_1/dense", "proj_1/tanh", "proj_1", "logits",
            ])
        #expect(model.layer(named: "head")?.op is IdentityLayer)
        #expect(model.layer(named: "head")?.inputs == ["head/dw_bn"])
        #expect(model.layer(named: "proj_1/dense")?.inputs == ["proj"])
        #expect(model.layer(named: "logits")?.inputs == ["proj_1"])
        #expect(model.parameters["proj_1/dense/kernel"] == model.parameters["proj/dense/kernel"])
        #expect(model.parameters["head/block/bn/moving_variance"] != nil)
        #expect(model.parameters["base/conv2/bias"] == nil)
        #expect(model.inputNames == [Model.inputName] && model.declaredOutputs == nil)
    }

    @Test func flavoursAgreeOnNestedWeights() throws {
        let (keras3, keras2) = (try Self.load("nested/model.keras"), try Self.load("nested/model.h5"))
        #expect(keras3.parameters.keys.sorted() == keras2.parameters.keys.sorted())
        for (name, tensor) in keras3.parameters {
            #expect(tensor.floatValues() == keras2.parameters[name]?.floatValues(), "\(name)")
        }
    }

    @Test(arguments: ["multi_input/model.keras", "multi_input/model.h5"])
    func severalInputsAndOutputs(_ file: String) throws {
        let model = try Self.load(file)
        #expect(model.inputNames == ["input/image", "input/meta"])
        #expect(model.outputNames == ["logits", "aux"])
        #expect(model.layer(named: "conv")?.inputs == ["input/image"])
        #expect(model.layer(named: "meta_dense")?.inputs == ["input/meta"])
    }

    @Test func tfFunctionsMapToOperations() throws {
        let model = try Self.load("tfoplambda/model.h5")
        func op(_ name: String) -> (any LayerOperation)? { model.layer(named: name)?.op }
        #expect(op("tf.__operators__.add") is Add)
        #expect(model.layer(named: "tf.__operators__.add")?.inputs == ["conv", Model.inputName])
        #expect(op("tf.math.truediv") as? Elementwise == Elementwise(.divide, constant: 3))
        #expect(op("tf.math.subtract_1") as? Elementwise == Elementwise(.subtract, constant: 1, constantFirst: true))
        #expect(op("tf.math.subtract") as? Elementwise == Elementwise(.subtract))
        #expect(op("tf.math.reduce_mean") as? ReduceMean == ReduceMean(axes: [1, 2], keepdims: true))
        #expect(op("tf.math.reduce_mean_1") as? ReduceMean == ReduceMean(axes: [1], keepdims: false))
        #expect(op("tf.compat.v1.transpose") as? Transpose == Transpose(perm: [0, 3, 1, 2]))
        #expect(op("tf.reshape") as? Reshape == Reshape(targetShape: [36]))
        #expect(op("tf.concat_1") as? Concatenate == Concatenate(axis: 1))
        #expect(
            op("tf.__operators__.getitem") as? StridedSlice
                == StridedSlice(axes: [
                    StridedSlice.Axis(), StridedSlice.Axis(start: 1, stop: 5), StridedSlice.Axis(step: 2),
                    StridedSlice.Axis(stop: 3),
                ]))
        #expect(op("tf.nn.relu6") as? ActivationLayer == ActivationLayer(.relu6))
    }

    struct RefusalCase: Sendable, CustomTestStringConvertible {
        var name: String
        var config: String
        var layer: String
        var reasonFragment: String
        var testDescription: String { name }
    }

    static func functional(_ layers: String, output: String) -> String {
        """
        {"class_name": "Functional", "config": {"name": "m", "input_layers": [["in", 0, 0]],
         "output_layers": [["\(output)", 0, 0]], "layers": [
          {"class_name": "InputLayer", "name": "in", "config": {"batch_input_shape": [null, 4], "name": "in"},
           "inbound_nodes": []},
          \(layers)]}}
        """
    }

    /// Sequential models nested `depth` deep around one ReLU.
    static func nestedSequential(depth: Int) -> String {
        var text = #"{"class_name": "ReLU", "config": {"name": "relu"}}"#
        for level in (0..<depth).reversed() {
            text = #"{"class_name": "Sequential", "config": {"name": "s\#(level)", "layers": [\#(text)]}}"#
        }
        return text
    }

    static let refusals: [RefusalCase] = [
        RefusalCase(
            name: "unknown TF function",
            config: functional(
                """
                {"class_name": "TFOpLambda", "name": "tf.math.cumsum",
                 "config": {"name": "tf.math.cumsum", "function": "math.cumsum"},
                 "inbound_nodes": [["in", 0, 0, {"axis": 1}]]}
                """, output: "tf.math.cumsum"), layer: "tf.math.cumsum", reasonFragment: "'tf.math.cumsum'"),
        RefusalCase(
            name: "unknown keyword",
            config: functional(
                """
                {"class_name": "TFOpLambda", "name": "tf.math.multiply",
                 "config": {"name": "tf.math.multiply", "function": "math.multiply"},
                 "inbound_nodes": [["in", 0, 0, {"y": 2.0, "out": 1}]]}
                """, output: "tf.math.multiply"), layer: "tf.math.multiply", reasonFragment: "'out'"),
        RefusalCase(
            name: "reshape of the batch",
            config: functional(
                """
                {"class_name": "TFOpLambda", "name": "tf.reshape",
                 "config": {"name": "tf.reshape", "function": "reshape"},
                 "inbound_nodes": [["in", 0, 0, {"shape": [2, -1]}]]}
                """, output: "tf.reshape"), layer: "tf.reshape", reasonFragment: "batch"),
        RefusalCase(
            name: "Keras 3 operation",
            config: """
                {"class_name": "Functional", "config": {"name": "m", "input_layers": ["in", 0, 0],
                 "output_layers": ["mean", 0, 0], "layers": [
                  {"module": "keras.layers", "class_name": "InputLayer", "name": "in",
                   "config": {"batch_shape": [null, 4], "name": "in"}, "inbound_nodes": []},
                  {"module": "keras.src.ops.numpy", "class_name": "Mean", "name": "mean", "config": {"name": "mean"},
                   "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__",
                     "config": {"keras_history": ["in", 0, 0]}}], "kwargs": {}}]}]}}
                """, layer: "mean", reasonFragment: "'keras.src.ops.numpy.Mean'"),
        RefusalCase(
            name: "nesting too deep",
            config: """
                {"class_name": "Sequential", "config": {"name": "top", "layers": [
                  {"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "in"}},
                  \(nestedSequential(depth: 40))]}}
                """,
            layer:
                "s0/s1/s2/s3/s4/s5/s6/s7/s8/s9/s10/s11/s12/s13/s14/s15/s16/s17/s18/s19/s20/s21/s22/s23/s24/s25/s26/s27/s28/s29/s30/s31/s32",
            reasonFragment: "nested more than 32 levels"),
        RefusalCase(
            name: "shared layer",
            config: functional(
                """
                {"class_name": "ReLU", "name": "relu", "config": {"name": "relu"},
                 "inbound_nodes": [[["in", 0, 0, {}]], [["relu", 0, 0, {}]]]}
                """, output: "relu"), layer: "relu", reasonFragment: "shared layer"),
    ]

    @Test(arguments: refusals)
    func refusesNamingTheLayer(_ c: RefusalCase) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let config = directory.appendingPathComponent("config.json")
        try Data(c.config.utf8).write(to: config)
        #expect {
            _ = try Converter.loadModel(
                source: fixture("keras/mlp_weights_config/model.weights.h5").path, spec: nil, config: config.path)
        } throws: { error in
            guard let error = error as? FileError else { return false }
            return error.member == c.layer && error.reason.contains(c.reasonFragment)
        }
    }

    /// A recording of a model with several inputs must hold each as `input/<name>`.
    @Test func verifyNeedsEveryInput() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let output = directory.appendingPathComponent("m.safetensors").path
        _ = try Converter.convert(
            source: fixture("keras/multi_input/model.keras").path, spec: nil, config: nil, output: output)
        let recording = directory.appendingPathComponent("r.npz").path
        let full = try Recording.load(path: fixture("keras/multi_input/recording.h5").path)
        let kept = full.values.filter { $0.key != "input/meta" }.map { key, value in
            (name: key, tensor: Tensor(shape: value.shape, floats: value.values))
        }
        try NPZWriter.write(kept.sorted { $0.name < $1.name }, to: recording)
        #expect {
            _ = try Verifier.verify(model: output, recording: recording)
        } throws: { error in
            (error as? FileError)?.member == "input/meta"
        }
    }
}
