import Foundation
import ParityModel
import TensorCore

@_exported import struct ParityModel.FloatTensor
@_exported import struct ParityModel.FoldedBatchNormalization
@_exported import struct ParityModel.FoldingRecord
@_exported import struct ParityModel.MatrixProduct
@_exported import struct ParityModel.Provenance

/// A tfparity model file loaded for inference: `let y = try model(x)`.
///
/// This is the engine `tfparity verify` runs (`ParityModel.Engine`), so a model that passed `verify` computes the
/// same float32 values here. Image layers take NHWC input (batch, height, width, channels), as TensorFlow's
/// `channels_last`; dense layers take `[batch, features]` (any leading axes). Values are in C (row-major) order.
///
/// The type is called `Model` as users of Keras and MLX expect; inside this package the layer graph is
/// `ParityModel.Model`, which this module does not re-export, so a client importing `TFParityRuntime` sees one
/// `Model`.
public struct Model: Sendable {
    private let engine: Engine

    /// The layers in the order they run.
    public let layers: [LayerDescription]
    /// Where the parameters came from (source file, its SHA-256, tool version), when the file records it.
    public let provenance: Provenance?
    /// The batch-normalisation layers folded into their preceding layer by `tfparity fold`, if any.
    public let folding: FoldingRecord?

    /// Loads the model file at `url`.
    ///
    /// Only the header is read up front; each tensor is then read once (`pread`), converted to float32 and its
    /// file bytes dropped, so loading holds no more than the model's float32 parameters and one tensor in flight.
    /// - Throws: `RuntimeError.unreadableModel` for a file that is missing, not safetensors or not a tfparity model;
    ///   `RuntimeError.invalidModel` when a layer's parameters do not fit it.
    public init(contentsOf url: URL) throws(RuntimeError) {
        try self.init(path: url.path)
    }

    /// Loads the model file at `path`; see `init(contentsOf:)`.
    ///
    /// - Parameter matrixProduct: the kernel dense and convolution layers multiply with. The runtime's own is the
    ///   portable Swift `Gemm` (no C dependency); a program linking a tuned BLAS can pass its product instead.
    public init(path: String, matrixProduct: MatrixProduct = .portable) throws(RuntimeError) {
        var graph: ParityModel.Model
        do {
            graph = try ModelFile.read(path: path)
        } catch {
            throw .unreadableModel(path: path, reason: Self.describe(error, path: path))
        }
        // The engine takes the tensors (and frees each layer's once converted); the graph keeps its layers.
        var parameters: [String: Tensor] = [:]
        swap(&parameters, &graph.parameters)
        do {
            engine = try Engine(model: graph, takingParameters: &parameters, matrixProduct: matrixProduct)
        } catch {
            throw .invalidModel(path: path, reason: "\(error)")
        }
        layers = graph.layers.map(LayerDescription.init)
        provenance = graph.provenance
        folding = graph.folding
    }

    /// The model's output for `input`.
    public func callAsFunction(_ input: FloatTensor) throws(RuntimeError) -> FloatTensor {
        do {
            return try engine.run(input)
        } catch {
            throw .inference("\(error)")
        }
    }

    /// The model's output for `values` of `shape` (C order), as plain values and shape.
    /// - Throws: `RuntimeError.shapeMismatch` when `values.count` is not the product of `shape`;
    ///   `RuntimeError.inference` when the input does not fit the first layer.
    public func callAsFunction(_ values: [Float], shape: [Int]) throws(RuntimeError) -> (values: [Float], shape: [Int])
    {
        let output = try callAsFunction(try Self.tensor(values, shape: shape))
        return (output.values, output.shape)
    }

    /// Every layer's output for `input`, by layer name: for debugging where a result goes astray.
    public func trace(_ input: FloatTensor) throws(RuntimeError) -> [String: FloatTensor] {
        do {
            return try engine.trace(input)
        } catch {
            throw .inference("\(error)")
        }
    }

    /// Every layer's output for `values` of `shape`, by layer name, as plain values and shapes.
    public func trace(_ values: [Float], shape: [Int]) throws(RuntimeError) -> [String: (
        values: [Float], shape: [Int]
    )] {
        try trace(try Self.tensor(values, shape: shape)).mapValues { ($0.values, $0.shape) }
    }

    /// The name of the layer whose output is the model's output.
    public var outputLayerName: String? { engine.model.outputLayer?.name }

    private static func tensor(_ values: [Float], shape: [Int]) throws(RuntimeError) -> FloatTensor {
        var product = 1
        for extent in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: extent)
            guard extent >= 0, !overflow else { throw .shapeMismatch(valueCount: values.count, shape: shape) }
            product = next
        }
        guard product == values.count else { throw .shapeMismatch(valueCount: values.count, shape: shape) }
        return FloatTensor(shape: shape, values: values)
    }

    private static func describe(_ error: any Error, path: String) -> String {
        let text = "\(error)"
        // Reader errors already start with the path; the case carries it separately.
        return text.hasPrefix("\(path): ") ? String(text.dropFirst(path.count + 2)) : text
    }
}

/// One layer of a loaded model: its name, its type as the model file spells it, and the layers feeding it.
public struct LayerDescription: Sendable, Equatable {
    public var name: String
    /// `dense`, `conv2d`, `batchnorm`, `relu`, … (the model file's `type`).
    public var type: String
    /// The layers feeding this one; `input` is the model's input.
    public var inputs: [String]

    init(_ layer: Layer) {
        name = layer.name
        type = layer.op.typeName
        inputs = layer.inputs
    }
}

/// Why a model could not be loaded or run.
public enum RuntimeError: Error, Equatable, CustomStringConvertible {
    /// The file is missing, is not safetensors, or carries no tfparity layer graph.
    case unreadableModel(path: String, reason: String)
    /// A layer's parameters are missing or do not fit the layer.
    case invalidModel(path: String, reason: String)
    /// `values` and `shape` disagree.
    case shapeMismatch(valueCount: Int, shape: [Int])
    /// The input does not fit the model (wrong feature count, channels or rank).
    case inference(String)

    public var description: String {
        switch self {
        case .unreadableModel(let path, let reason), .invalidModel(let path, let reason):
            "\(path): \(reason)"
        case .shapeMismatch(let count, let shape):
            "\(count) values do not fill shape [\(shape.map(String.init).joined(separator: ", "))]"
        case .inference(let reason):
            reason
        }
    }
}
