import ArgumentParser
import Importers
import ONNXExport
import ONNXFormat
import Reports
import TFParityKit

struct Export: ParsableCommand, InputShapeHelp {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Write a model's parameters under their model names (<layer>/<param>) for numpy or C (--npz), or the "
            + "whole model as ONNX (--onnx) for onnxruntime and other runtimes.")

    @Argument(help: "The model file written by 'tfparity convert' or 'tfparity fold'.")
    var model: String

    @Option(help: "The NPZ archive to write; numpy.load reads it.")
    var npz: String?

    @Option(help: "The ONNX model to write: inputs and output NHWC (see --layout), weights as initializers.")
    var onnx: String?

    @Option(
        help: ArgumentHelp(
            "The ONNX opset (\(ONNXExporter.supportedOpsets.lowerBound)-\(ONNXExporter.supportedOpsets.upperBound)).",
            valueName: "N"))
    var opset: Int = ONNXModel.defaultOpset

    @Option(help: "Layout of the ONNX model's 4-D inputs and output: nhwc (the model's own) or nchw.")
    var layout: ONNXLayout = .nhwc

    @OptionGroup var input: InputShapeOptions<Export>
    static let recordingHelp: ArgumentHelp =
        "A recording whose input gives the ONNX input's shape (for explicit SAME pads); named in the metadata."
    static let inputShapeHelp: ArgumentHelp =
        "The ONNX input's shape, e.g. 1,224,224,3 (NHWC; the batch is written as N), when no recording gives it."

    func validate() throws {
        guard (npz == nil) != (onnx == nil) else {
            throw ValidationError("give one of --npz OUT.npz or --onnx OUT.onnx")
        }
        if onnx == nil, input.isGiven || opset != ONNXModel.defaultOpset || layout != .nhwc {
            throw ValidationError("--opset, --layout, --recording and --input-shape apply to --onnx only")
        }
        guard ONNXExporter.supportedOpsets.contains(opset) else {
            throw ValidationError(
                "--opset \(opset) is not supported: give \(ONNXExporter.supportedOpsets.lowerBound) to "
                    + "\(ONNXExporter.supportedOpsets.upperBound)")
        }
        try input.check()
        try paths.validate()
    }

    var paths: CommandPaths {
        CommandPaths(
            inputs: [("model", model)] + (input.recording.map { [("--recording", $0)] } ?? []),
            outputs: [("--npz", npz), ("--onnx", onnx), ("--onnx", onnx.map { $0 + ".data" })])
    }

    func run() throws {
        try runReportingErrors(paths: paths) {
            if let onnx {
                let options = ONNXFileOptions(
                    opset: opset, layout: layout, recording: input.recording, inputShape: input.shape)
                printOut(Rendering.text(try Exporter.export(model: model, onnx: onnx, options: options)))
            } else if let npz {
                printOut(Rendering.text(try Exporter.export(model: model, npz: npz)))
            }
        }
    }
}

extension ONNXLayout: ExpressibleByArgument {}
