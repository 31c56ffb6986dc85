import ArgumentParser
import Importers
import Reports
import TFParityKit

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Convert a Keras model file, a TensorFlow checkpoint or a parameter dump (NPZ, .npy directory, HDF5) "
            + "into a tfparity model (safetensors).")

    @Argument(
        help: ArgumentHelp(
            "The source: a Keras .h5 or .keras model, a Keras 3 .weights.h5 (with --config), a checkpoint prefix "
                + "(model.ckpt) or SavedModel directory, an .npz, a directory of .npy files, an .h5/.hdf5 dump."))
    var source: String

    @Option(help: "YAML or JSON spec naming the source's tensors layer by layer.")
    var spec: String?

    @Option(help: "Keras model config JSON, for a Keras 3 .weights.h5 that holds no architecture.")
    var config: String?

    @Option(name: .shortAndLong, help: "The model file to write (.safetensors).")
    var output: String

    @Flag(name: .shortAndLong, help: "No progress bar and no summary line.")
    var quiet = false

    var paths: CommandPaths {
        CommandPaths(
            inputs: [("source", source), ("--spec", spec), ("--config", config)], outputs: [("-o", output)])
    }

    func validate() throws { try paths.validate() }

    func run() throws {
        try runReportingErrors(paths: paths) {
            let result = try Converter.convert(
                source: source, spec: spec, config: config, output: output,
                progress: Terminal.progressBar(quiet: quiet))
            if !quiet { printOut(Rendering.text(result)) }
        }
    }
}
