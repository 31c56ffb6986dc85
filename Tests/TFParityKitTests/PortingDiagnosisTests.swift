import Foundation
import ParityModel
import TFParityKit
import TensorCore
import TestSupport
import Testing

/// One recording of `Fixtures/porting/manifest.json`: the diagnosis verify must name and the layer it names it at.
struct PortingCase: Decodable, Sendable, CustomStringConvertible {
    var recording: String
    var id: String?
    var layer: String?
    var how: String

    var description: String { recording }

    static func load() -> [PortingCase] {
        struct Manifest: Decodable { var cases: [PortingCase] }
        guard let data = try? Data(contentsOf: fixture("porting/manifest.json")),
            let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
        else { return [] }
        return manifest.cases
    }
}

/// The porting fixtures' model, converted once per test into its temporary directory.
func convertPortingModel(into directory: URL) throws -> String {
    let output = directory.appendingPathComponent("porting.safetensors").path
    _ = try Converter.convert(source: fixture("porting/model.keras").path, spec: nil, output: output)
    return output
}

@Suite struct PortingDiagnosisTests {
    @Test func manifestListsEveryMistake() {
        let ids = Set(PortingCase.load().compactMap(\.id))
        #expect(ids.isSuperset(of: Set(PortingVariants.ids).subtracting(["batch-statistics"])))
        #expect(ids.contains("layout-nchw"))
    }

    /// Each recording made with one mistake fails only at checks the mistake explains, each naming it at its layer;
    /// the correct recordings pass.
    @Test(arguments: PortingCase.load().filter { $0.id != "layout-nchw" })
    func mistakeIsNamedAtItsLayer(_ entry: PortingCase) throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try convertPortingModel(into: dir)
        let report = try Verifier.verify(model: model, recording: fixture("porting/\(entry.recording)").path)
        let failing = report.results.filter { !$0.passed }
        guard let id = entry.id, let layer = entry.layer else {
            #expect(report.passed, "\(entry.recording): \(failing.map { "\($0.layer) \($0.stage)" })")
            return
        }
        #expect(!failing.isEmpty)
        for result in failing {
            let diagnosis = try #require(result.diagnosis, "\(entry.recording): \(result.layer) \(result.stage)")
            #expect(diagnosis.id == id, "\(result.layer) \(result.stage): \(diagnosis.detail)")
            #expect((diagnosis.layer ?? result.layer) == layer, "\(result.layer) \(result.stage)")
        }
        #expect(failing.contains { $0.layer == layer || $0.diagnosis?.layer == layer })
    }

    /// A channels-first recording is named as one (exit 2 in the CLI) and passes with `layout: .nchw`.
    @Test func channelsFirstRecordingIsNamedAndPassesTransposed() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try convertPortingModel(into: dir)
        let recording = fixture("porting/nchw.npz").path
        #expect {
            _ = try Verifier.verify(model: model, recording: recording)
        } throws: { error in
            let text = "\(error)"
            return text.contains("layout-nchw") && text.contains("--layout nchw")
        }
        let report = try Verifier.verify(model: model, recording: recording, options: VerifyOptions(layout: .nchw))
        #expect(report.passed)
    }

    /// A mistake that explains nothing is not named: a recording whose conv2 output is noise.
    @Test func noiseIsNotExplained() throws {
        let dir = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(dir) }
        let model = try ModelFile.read(path: try convertPortingModel(into: dir))
        let engine = try Engine(model: model, matrixProduct: .portable)
        let recording = try Recording.load(path: fixture("porting/correct.npz").path)
        let known = ["relu1": try #require(recording.values["relu1/output"])]
        var expected = try #require(recording.values["conv2/output"])
        for i in expected.values.indices where i % 7 == 0 { expected.values[i] += 0.5 }
        let diagnosis = PortingDiagnosis.diagnose(
            target: "conv2", known: known, expected: expected, engine: engine,
            judge: { Comparison(actual: $0.values, expected: expected.values, tolerance: .default) })
        #expect(diagnosis == nil)
    }
}
