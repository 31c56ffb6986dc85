import Dispatch
import NumPyFormat
import ParityModel
import TensorCore

/// How long the engine takes for one forward pass of a model, timed the way the bench times onnxruntime
/// (Scripts/bench/timing.py): the same batch `calls` times in one process, the first call apart (it touches fresh
/// memory and may load the matrix library), then the second and the median of the second onward. Only the model's
/// outputs are computed and kept, as a runtime returns them; verify's `timings.forward_ms` also keeps every value its
/// checks read.
public struct ForwardTiming: Sendable, Equatable {
    public var firstMilliseconds: Double
    public var secondMilliseconds: Double
    public var medianMilliseconds: Double
    public var calls: Int

    /// Runs the model at `modelPath` on the `.npy` batch at `inputPath` (a model of one input) `calls` times.
    /// - Throws: `FileError` for an unreadable file or a batch that does not fit the model.
    public static func measure(
        model modelPath: String, input inputPath: String, calls: Int, matrixProduct: MatrixProduct
    ) throws -> ForwardTiming {
        var model = try ModelFile.read(path: modelPath)
        let engine = try Engine.taking(&model, path: modelPath, matrixProduct: matrixProduct)
        let batch = try NPYFile.read(path: inputPath)
        guard batch.dtype == .float32 || batch.dtype == .float64 else {
            throw FileError(
                path: inputPath, reason: "the batch is \(batch.dtype.numpyName); expected float32 or float64")
        }
        let input = FloatTensor(shape: batch.shape, values: batch.floatValues())
        var times: [Double] = []
        for _ in 0..<max(calls, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                _ = try engine.run(input)
            } catch {
                throw FileError(path: inputPath, reason: error.description)
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let rest = times.count > 1 ? Array(times.dropFirst()) : times
        let sorted = rest.sorted()
        let median =
            sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return ForwardTiming(
            firstMilliseconds: times[0], secondMilliseconds: rest[0], medianMilliseconds: median, calls: times.count)
    }
}
