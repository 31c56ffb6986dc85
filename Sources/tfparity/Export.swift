import ArgumentParser
import Importers
import Reports
import TFParityKit

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model's parameters under their model names (<layer>/<param>) for numpy or C.")

    @Argument(help: "The model file written by 'tfparity convert' or 'tfparity fold'.")
    var model: String

    @Option(help: "The NPZ archive to write; numpy.load reads it.")
    var npz: String

    var paths: CommandPaths { CommandPaths(inputs: [("model", model)], outputs: [("--npz", npz)]) }

    func validate() throws { try paths.validate() }

    func run() throws {
        try runReportingErrors(paths: paths) {
            printOut(Rendering.text(try Exporter.export(model: model, npz: npz)))
        }
    }
}
