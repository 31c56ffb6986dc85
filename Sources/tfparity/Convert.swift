import ArgumentParser
import TFParityKit

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Convert a TensorFlow checkpoint or a parameter dump (NPZ, .npy directory, HDF5) into a tfparity model.")

    @Argument(
        help:
            "The source: a checkpoint prefix (model.ckpt) or SavedModel directory, an .npz, a directory of .npy files, an .h5/.hdf5 dump."
    )
    var source: String

    @Option(help: "YAML or JSON spec naming the source's tensors layer by layer.")
    var spec: String?

    @Option(name: .shortAndLong, help: "The model file to write (.safetensors).")
    var output: String

    func run() throws {
        try runReportingErrors {
            printOut(Rendering.text(try Converter.convert(source: source, spec: spec, output: output)))
        }
    }
}
