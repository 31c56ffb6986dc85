import ArgumentParser
import Foundation
import Importers
import Reports
import TFParityKit

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract:
            "Convert a Keras model file, a TensorFlow checkpoint, graph or SavedModel, or a parameter dump (NPZ, .npy "
            + "directory, HDF5) into a tfparity model (safetensors).")

    @Argument(
        help: ArgumentHelp(
            "The source: a Keras .h5 or .keras model, a Keras 3 .weights.h5 (with --config), a checkpoint prefix "
                + "(model.ckpt, with model.ckpt.meta beside it or --graph), a frozen GraphDef .pb, a SavedModel "
                + "directory, an .npz, a directory of .npy files, an .h5/.hdf5 dump."))
    var source: String

    @Option(help: "YAML or JSON spec naming the source's tensors layer by layer.")
    var spec: String?

    @Option(help: "Keras model config JSON, for a Keras 3 .weights.h5 that holds no architecture.")
    var config: String?

    @OptionGroup var graph: GraphOptions

    @Option(name: .shortAndLong, help: "The model file to write (.safetensors).")
    var output: String

    @Flag(name: .shortAndLong, help: "No progress bar and no summary line.")
    var quiet = false

    var paths: CommandPaths {
        CommandPaths(
            inputs: [("source", source), ("--spec", spec), ("--config", config), ("--graph", graph.graph)],
            outputs: [("-o", output)])
    }

    func validate() throws { try paths.validate() }

    func run() throws {
        try runReportingErrors(paths: paths) {
            let result = try Converter.convert(
                source: source, spec: spec, config: config, graph: graph.importOptions, output: output,
                progress: Terminal.progressBar(quiet: quiet))
            for note in result.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
            if !quiet { printOut(Rendering.text(result)) }
        }
    }
}
