import Foundation
import NumPyFormat
import ParityModel
import TensorCore

/// What `tfparity export` wrote.
public struct ExportResult: Sendable {
    public var output: String
    public var tensorCount: Int
    public var byteCount: Int
    /// Tensors numpy has no type for (bfloat16), written as float32.
    public var widened: [String]
}

/// Writing a model's parameters for projects in numpy or C.
public enum Exporter {
    /// Writes every parameter of the model at `modelPath` to the NPZ archive `npz`, under its model name
    /// (`<layer>/<param>`, e.g. `layer0/kernel`), in model order, values exactly as stored; bfloat16, which numpy
    /// lacks, becomes float32 (exactly). The archive is written atomically.
    public static func export(model modelPath: String, npz: String) throws -> ExportResult {
        let model = try ModelFile.read(path: modelPath)
        var widened: [String] = []
        let arrays = model.orderedParameterNames.compactMap { name -> (name: String, tensor: Tensor)? in
            guard let tensor = model.parameters[name] else { return nil }
            if tensor.dtype == .bfloat16 {
                widened.append(name)
                return (name, tensor.toFloat32())
            }
            return (name, tensor)
        }
        try NPZWriter.write(arrays, to: npz)
        return ExportResult(
            output: npz, tensorCount: arrays.count, byteCount: arrays.reduce(0) { $0 + $1.tensor.bytes.count },
            widened: widened)
    }
}
