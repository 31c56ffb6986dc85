import ArgumentParser
import Importers
import Reports
import TFParityKit

struct Fold: ParsableCommand, InputShapeHelp {
    static let configuration = CommandConfiguration(
        commandName: "fold",
        abstract:
            "Fold every batch norm that directly follows a dense or convolution layer into that layer, and print "
            + "the largest difference folding makes to the output.")

    @Argument(help: "The model file written by 'tfparity convert'.")
    var model: String

    @Option(name: .shortAndLong, help: "The folded model file to write (.safetensors).")
    var output: String

    @OptionGroup var input: InputShapeOptions<Fold>
    static let recordingHelp: ArgumentHelp = "A recording whose 'input' is the batch the folding cost is measured on."
    static let inputShapeHelp: ArgumentHelp =
        "Shape of a deterministic input to measure the folding cost on, e.g. 4,12,12,3 (NHWC)."

    func validate() throws {
        try input.check()
        try paths.validate()
    }

    var paths: CommandPaths {
        CommandPaths(inputs: [("model", model), ("--recording", input.recording)], outputs: [("-o", output)])
    }

    func run() throws {
        try runReportingErrors(paths: paths) {
            let options = FoldOptions(
                recording: input.recording, inputShape: input.shape, matrixProduct: commandLineMatrixProduct)
            printOut(Rendering.text(try Folder.fold(model: model, output: output, options: options)))
        }
    }
}
