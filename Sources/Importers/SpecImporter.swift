import Foundation
import ParityModel
import TensorCore

/// Sources without an architecture (checkpoints, NPZ, NPY directories, HDF5 dumps, safetensors), given a spec that
/// names their tensors layer by layer.
struct SpecImporter: ModelImporter {
    func accepts(_ request: ImportRequest) -> Bool { request.spec != nil }

    func plan(_ request: ImportRequest) throws -> (ModelPlan, SourceKind) {
        guard let specPath = request.spec else { preconditionFailure("accepts() requires a spec") }
        let (source, kind) = try SourceDetection.open(request.source, kind: request.kind)
        return (try Self.plan(spec: try Spec.load(path: specPath), source: source), kind)
    }

    /// Resolves the spec's references in `source` and checks that each layer's shapes fit the layer before it.
    static func plan(spec: Spec, source: TensorSource) throws -> ModelPlan {
        let index = TensorNameIndex(source.tensorNames)
        var layers: [Layer] = []
        var parameters: [String: PendingTensor] = [:]
        // Model parameter name → the source tensor it came from, for errors.
        var sourceNames: [String: String] = [:]
        var previous = Model.inputName
        for entry in spec.layers {
            let slots = Dictionary(entry.op.parameters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            for reference in entry.references {
                guard let actual = index.resolve(reference.tensor) else {
                    let hints = index.suggestions(for: reference.tensor)
                    let hint =
                        hints.isEmpty ? "" : "; similar names: " + hints.map { "'\($0)'" }.joined(separator: ", ")
                    throw FileError(
                        path: source.path, member: reference.tensor,
                        reason: "no such tensor (layer '\(entry.name)' \(reference.parameter) in \(spec.path))\(hint)")
                }
                let info = try source.tensorInfo(actual)
                var modelShape = info.shape
                // A per-channel vector is stored 1-D, whatever one-axis shape the source gives it.
                if slots[reference.parameter]?.isVector == true, info.shape.filter({ $0 != 1 }).count <= 1,
                    let count = Shape.elementCount(info.shape)
                {
                    modelShape = [count]
                }
                let name = "\(entry.name)/\(reference.parameter)"
                sourceNames[name] = actual
                // A reshape keeps the bytes, so a tensor stored as it is can be copied whatever its model shape.
                parameters[name] = PendingTensor(
                    dtype: info.dtype, shape: modelShape, stored: try source.storedRange(actual)
                ) {
                    let tensor = try source.readTensor(actual)
                    // A tensor that is not what the source announced is handed on as read, for the plan to refuse.
                    guard tensor.dtype == info.dtype, tensor.shape == info.shape else { return tensor }
                    return tensor.reshaped(modelShape)
                }
            }
            layers.append(Layer(name: entry.name, op: entry.op, inputs: entry.inputs ?? [previous]))
            previous = entry.name
        }
        do {
            _ = try LayerGraph.check(layers) { parameters[$0]?.shape }
        } catch {
            guard case .layer(let name, let problem) = error else {
                throw FileError(path: source.path, reason: error.description)
            }
            let references = spec.layers.first { $0.name == name }?.references.map(\.parameter) ?? []
            throw specShapeError(
                problem, layer: name, references: references, sourceNames: sourceNames, source: source.path)
        }
        return ModelPlan(layers: layers, parameters: parameters, provenance: nil, sourcePath: source.path)
    }

    /// A spec layer's shape problem, naming the source tensor it is about (or the layer's first tensor when the
    /// input does not fit).
    private static func specShapeError(
        _ problem: LayerProblem, layer: String, references: [String], sourceNames: [String: String], source: String
    ) -> FileError {
        switch problem {
        case .parameterShape(let parameter, let expected, let actual):
            if let tensor = sourceNames["\(layer)/\(parameter)"] {
                return FileError(
                    path: source, member: tensor,
                    reason: "shape \(Shape.describe(actual)) does not fit layer '\(layer)': expected \(expected)")
            }
        case .inputShape(let expected, let actual):
            if let first = references.first, let tensor = sourceNames["\(layer)/\(first)"] {
                return FileError(
                    path: source, member: tensor,
                    reason: "does not fit layer '\(layer)': its input from the previous layer has shape \(actual), "
                        + "expected \(expected)")
            }
        default:
            break
        }
        return FileError(path: source, member: layer, reason: problem.description)
    }
}
