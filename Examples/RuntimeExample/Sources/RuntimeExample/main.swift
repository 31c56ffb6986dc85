import Foundation
import TFParityRuntime

// Loads a model converted by `tfparity convert`, runs it on the batch TensorFlow was recorded on, and checks the
// output against TensorFlow's within the contract's tolerance: |actual - expected| <= 1e-5 + 1e-4 * |expected|.
//
//     swift run RuntimeExample [MODEL.safetensors [RECORDING.safetensors]]
//
// The defaults are the files beside this package: `cnn.safetensors` (Fixtures/keras/cnn/model.keras converted by
// tfparity) and `cnn-recording.safetensors` (that fixture's recorded `input` and `output`).

let packageDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let arguments = Array(CommandLine.arguments.dropFirst())
let modelURL = URL(fileURLWithPath: arguments.first ?? packageDirectory.appendingPathComponent("cnn.safetensors").path)
let recordingURL = URL(
    fileURLWithPath: arguments.dropFirst().first
        ?? packageDirectory.appendingPathComponent("cnn-recording.safetensors").path)

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(status)
}

do {
    let model = try Model(contentsOf: modelURL)
    let recording = try TensorFile.read(contentsOf: recordingURL)
    guard let input = recording["input"], let expected = recording["output"] else {
        fail("\(recordingURL.path): needs tensors 'input' and 'output'", status: 2)
    }

    // Plain values and a shape in, plain values and a shape out.
    let output = try model(input.values, shape: input.shape)

    // Every layer's output, by name, for looking inside.
    let trace = try model.trace(input.values, shape: input.shape)
    for layer in model.layers {
        let shape = trace[layer.name]?.shape.map(String.init).joined(separator: ", ") ?? "?"
        print("\(layer.name) (\(layer.type)): [\(shape)]")
    }

    guard output.shape == expected.shape else {
        fail("output shape \(output.shape) differs from the recorded \(expected.shape)", status: 1)
    }
    var maxAbsError: Float = 0
    var mismatches = 0
    for (actual, recorded) in zip(output.values, expected.values) {
        let error = abs(actual - recorded)
        maxAbsError = max(maxAbsError, error.isNaN ? .infinity : error)
        if !(error <= 1e-5 + 1e-4 * abs(recorded)) { mismatches += 1 }
    }
    print("output \(output.shape): max abs error \(maxAbsError) against TensorFlow, \(mismatches) mismatches")
    print(mismatches == 0 ? "PASSED" : "FAILED")
    exit(mismatches == 0 ? 0 : 1)
} catch {
    fail("\(error)", status: 2)
}
