import ArgumentParser
import Foundation
import TFParityKit

/// `tfparity __time-forward MODEL INPUT.npy [--calls N]` (internal, for Scripts/bench.sh): the engine's forward pass
/// timed as the bench times onnxruntime (`ForwardTiming`), one JSON line, which also names the kernels that ran (the
/// matrix product: `avx512`, `avx2`, `openblas` or `portable`; the element-wise kernels: `avx512`, `avx2` or
/// `portable`), so a run's figures say which path of the engine they measured.
struct TimeForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "__time-forward", abstract: "Time the engine's forward pass (internal, for the benchmarks).",
        shouldDisplay: false)

    @Argument(help: "The model file written by 'tfparity convert'.")
    var model: String

    @Argument(help: "The batch to run, a .npy array (a model of one input).")
    var input: String

    @Option(help: "How many times to run it (the first call is reported apart).")
    var calls = 7

    func run() throws {
        try runReportingErrors(paths: CommandPaths(inputs: [("model", model), ("input", input)], outputs: [])) {
            let product = commandLineMatrixProduct
            let timing = try ForwardTiming.measure(model: model, input: input, calls: calls, matrixProduct: product)
            printOut(
                "{\"first_ms\": \(timing.firstMilliseconds), \"second_ms\": \(timing.secondMilliseconds), "
                    + "\"median_ms\": \(timing.medianMilliseconds), \"calls\": \(timing.calls), "
                    + "\"matrix_product\": \"\(product.name)\", \"vector_kernels\": \"\(product.vectorKernels.name)\"}")
        }
    }
}
