/// Why a model cannot be written as ONNX; the CLI prints it as `<model file>: <layer>: <reason>` (exit 2).
public enum ONNXExportError: Error, Equatable, CustomStringConvertible {
    /// No lowering is registered for the layer's operation.
    case unsupportedLayer(layer: String, type: String)
    /// The chosen opset has no operator that computes the layer as the engine does.
    case opsetTooLow(layer: String, type: String, needs: Int, opset: Int, reason: String)
    /// An opset outside `ONNXExporter.supportedOpsets`.
    case unsupportedOpset(Int)
    /// The layer graph does not check (`LayerGraph.check`) for the given or inferred input shapes.
    case graph(layer: String?, reason: String)
    /// A layer the lowering cannot express with what is known of its shapes or attributes.
    case unsupportedAttributes(layer: String, type: String, reason: String)
    /// A given input shape that names no model input or is not a shape.
    case inputShape(input: String, reason: String)

    /// The layer (or input) the error is about, when there is one.
    public var layer: String? {
        switch self {
        case .unsupportedLayer(let layer, _), .opsetTooLow(let layer, _, _, _, _),
            .unsupportedAttributes(let layer, _, _):
            layer
        case .graph(let layer, _): layer
        case .inputShape(let input, _): input
        case .unsupportedOpset: nil
        }
    }

    /// What is wrong, without the layer's name.
    public var reason: String {
        switch self {
        case .unsupportedLayer(_, let type):
            "layer type '\(type)' has no ONNX lowering"
        case .opsetTooLow(_, let type, let needs, let opset, let reason):
            "'\(type)' needs opset \(needs) or newer (\(reason)); asked for opset \(opset)"
        case .unsupportedOpset(let opset):
            "opset \(opset) is not supported (supported: \(ONNXExporter.supportedOpsets.lowerBound)..."
                + "\(ONNXExporter.supportedOpsets.upperBound))"
        case .graph(_, let reason): reason
        case .unsupportedAttributes(_, let type, let reason): "'\(type)' cannot be lowered: \(reason)"
        case .inputShape(_, let reason): reason
        }
    }

    public var description: String { layer.map { "\($0): \(reason)" } ?? reason }
}
