import Foundation
import TFParityKit
import TFParityRuntime
import TestSupport
import Testing

@Suite struct RuntimeTests {
    /// The runtime reproduces TensorFlow's recorded output of every fixture within the contract's tolerance.
    @Test(arguments: FixtureModel.all)
    func reproducesRecordedOutput(_ fixture: FixtureModel) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = try fixture.convert(into: directory)
        let model = try Model(contentsOf: URL(fileURLWithPath: path))
        let recording = try Recording.load(path: fixture.recordingPath)
        let input = try #require(recording.values["input"])
        let expected = try #require(recording.values["output"])

        let output = try model(input.values, shape: input.shape)
        #expect(output.shape == expected.shape)
        expectClose(output.values, expected.values, atol: contractAtol, rtol: contractRtol)

        let tensorOutput = try model(input)
        #expect(tensorOutput.values == output.values)
    }

    /// `trace` returns every layer's output by name, the last one being the model's output, and agrees with every
    /// `<layer>/output` TensorFlow recorded.
    @Test(arguments: [FixtureModel.seed, FixtureModel.cnn])
    func traceHasEveryLayer(_ fixture: FixtureModel) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let model = try Model(path: try fixture.convert(into: directory))
        let recording = try Recording.load(path: fixture.recordingPath)
        let input = try #require(recording.values["input"])
        let trace = try model.trace(input.values, shape: input.shape)
        #expect(Set(trace.keys) == Set(model.layers.map(\.name)))
        let last = try #require(model.outputLayerName)
        #expect(trace[last]?.values == (try model(input)).values)
        var compared = 0
        for (key, recorded) in recording.values where key.hasSuffix("/output") {
            let layer = String(key.dropLast("/output".count))
            guard let traced = trace[layer] else { continue }
            #expect(traced.shape == recorded.shape, "\(key)")
            expectClose(traced.values, recorded.values, atol: contractAtol, rtol: contractRtol)
            compared += 1
        }
        #expect(compared > 0)
    }

    @Test func loadsLayersAndProvenance() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let model = try Model(path: try FixtureModel.seed.convert(into: directory))
        #expect(model.layers.map(\.name).first == "layer0")
        #expect(model.layers.first?.type == "dense")
        #expect(model.layers.first?.inputs == ["input"])
        #expect(model.provenance?.source == "params.npz")
        #expect(model.folding == nil)
    }

    @Test func missingFileIsAnError() {
        #expect(
            throws: RuntimeError.unreadableModel(
                path: "/nonexistent/m.safetensors", reason: "cannot read: no such file")
        ) {
            try Model(path: "/nonexistent/m.safetensors")
        }
    }

    @Test func plainSafetensorsWithoutGraphIsAnError() throws {
        let recording = repositoryRoot.appendingPathComponent("Examples/RuntimeExample/cnn-recording.safetensors")
        #expect {
            try Model(contentsOf: recording)
        } throws: { error in
            guard case .unreadableModel(_, let reason) = error as? RuntimeError else { return false }
            return reason.contains("not a tfparity model")
        }
    }

    @Test func valuesThatDoNotFillTheShapeAreAnError() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let model = try Model(path: try FixtureModel.seed.convert(into: directory))
        #expect(throws: RuntimeError.shapeMismatch(valueCount: 3, shape: [2, 8])) {
            try model([1, 2, 3], shape: [2, 8])
        }
        #expect(throws: RuntimeError.shapeMismatch(valueCount: 0, shape: [-1, 8])) {
            try model([], shape: [-1, 8])
        }
        #expect {
            try model([Float](repeating: 0, count: 10), shape: [2, 5])
        } throws: { error in
            guard case .inference(let reason) = error as? RuntimeError else { return false }
            return reason.contains("layer0") && reason.contains("[2, 5]")
        }
    }

    /// The committed example files are what the tool makes from the CNN fixture: the model converted from
    /// `Fixtures/keras/cnn/model.keras`, the recording its `input` and `output` (float32, bit for bit).
    @Test func exampleFilesMatchTheFixture() throws {
        let example = repositoryRoot.appendingPathComponent("Examples/RuntimeExample")
        let recording = try Recording.load(path: FixtureModel.cnn.recordingPath)
        let committed = try TensorFile.read(contentsOf: example.appendingPathComponent("cnn-recording.safetensors"))
        #expect(Set(committed.keys) == ["input", "output"])
        #expect(committed["input"] == recording.values["input"])
        #expect(committed["output"] == recording.values["output"])

        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let fresh = try FixtureModel.cnn.convert(into: directory)
        let freshTensors = try TensorFile.read(contentsOf: URL(fileURLWithPath: fresh))
        let committedModel = try TensorFile.read(contentsOf: example.appendingPathComponent("cnn.safetensors"))
        #expect(freshTensors == committedModel)
        #expect(
            try Model(path: fresh).layers
                == (try Model(contentsOf: example.appendingPathComponent("cnn.safetensors")).layers))
    }
}
