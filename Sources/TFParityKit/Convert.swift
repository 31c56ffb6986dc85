import Foundation
import ParityModel
import TensorCore

/// The tool's version, written into every model's provenance.
public let toolVersion = "0.1.0"

/// What `convert` did.
public struct ConvertResult: Sendable {
    public var output: String
    public var sourceKind: SourceKind
    public var layerCount: Int
    public var tensorCount: Int
    public var parameterCount: Int
    public var byteCount: Int
}

/// Turning a source (plus a spec where the source has no architecture) into a model.
public enum Converter {
    /// Reads `sourcePath` with the architecture from `specPath` (or, for a Keras file, from its config or
    /// `configPath`), writes the model to `outputPath` atomically.
    public static func convert(
        source sourcePath: String, spec specPath: String?, config configPath: String? = nil, output outputPath: String
    ) throws -> ConvertResult {
        let (model, kind) = try loadModel(source: sourcePath, spec: specPath, config: configPath)
        try ModelFile.write(model, to: outputPath)
        return ConvertResult(
            output: outputPath, sourceKind: kind, layerCount: model.layers.count, tensorCount: model.parameters.count,
            parameterCount: model.parameters.values.map(\.elementCount).reduce(0, +),
            byteCount: model.parameters.values.map(\.bytes.count).reduce(0, +))
    }

    /// Builds the model a source and spec describe, checking every name and shape.
    public static func loadModel(source sourcePath: String, spec specPath: String?, config configPath: String? = nil)
        throws -> (Model, SourceKind)
    {
        let detected = try SourceDetection.kind(of: sourcePath)
        if specPath == nil, detected.isKeras || (configPath != nil && detected == .hdf5) {
            let kind = detected == .hdf5 ? SourceKind.keras3Weights : detected
            var model = try KerasFiles.loadModel(path: sourcePath, kind: kind, config: configPath)
            model.provenance = Provenance(
                source: URL(fileURLWithPath: sourcePath).lastPathComponent, sha256: try sha256(ofFile: sourcePath),
                sourceKind: kind.rawValue, spec: configPath.map { URL(fileURLWithPath: $0).lastPathComponent },
                toolVersion: toolVersion)
            return (model, kind)
        }
        let (source, kind) = try SourceDetection.open(sourcePath)
        guard let specPath else {
            throw FileError(
                path: sourcePath,
                reason: "a \(kind.rawValue) source holds no architecture: pass --spec SPEC.yaml naming its tensors")
        }
        let spec = try Spec.load(path: specPath)
        var model = try buildModel(spec: spec, source: source)
        model.provenance = Provenance(
            source: URL(fileURLWithPath: sourcePath).lastPathComponent, sha256: try sha256(ofFile: sourcePath),
            sourceKind: kind.rawValue, spec: URL(fileURLWithPath: specPath).lastPathComponent, toolVersion: toolVersion)
        return (model, kind)
    }

    /// Resolves the spec's references in `source` and checks that each layer's shapes fit the layer before it.
    static func buildModel(spec: Spec, source: TensorSource) throws -> Model {
        let index = TensorNameIndex(source.tensorNames)
        var layers: [Layer] = []
        var parameters: [String: Tensor] = [:]
        // The size of the last axis flowing out of each layer, where known.
        var width: [String: Int] = [:]
        var previous = Model.inputName

        for entry in spec.layers {
            let inputs = entry.inputs ?? [previous]
            let inputWidth = inputs.first.flatMap { width[$0] }
            func shapeError(_ tensorName: String, _ tensor: Tensor, _ expected: String) -> FileError {
                FileError(
                    path: source.path, member: tensorName,
                    reason:
                        "shape \(Shape.describe(tensor.shape)) does not fit layer '\(entry.name)': expected \(expected)"
                )
            }
            var resolved: [String: (name: String, tensor: Tensor)] = [:]
            for reference in entry.references {
                guard let actual = index.resolve(reference.tensor) else {
                    let hints = index.suggestions(for: reference.tensor)
                    let hint =
                        hints.isEmpty ? "" : "; similar names: " + hints.map { "'\($0)'" }.joined(separator: ", ")
                    throw FileError(
                        path: source.path, member: reference.tensor,
                        reason: "no such tensor (layer '\(entry.name)' \(reference.parameter) in \(spec.path))\(hint)")
                }
                resolved[reference.parameter] = (actual, try source.readTensor(actual))
            }
            var outputWidth = inputWidth
            switch entry.op {
            case .dense:
                guard let (kernelName, kernel) = resolved["kernel"] else {
                    preconditionFailure("spec parser requires kernel")
                }
                guard kernel.rank == 2 else { throw shapeError(kernelName, kernel, "a 2-D [in, out] kernel") }
                if let inputWidth, kernel.shape[0] != inputWidth {
                    throw shapeError(
                        kernelName, kernel, "[\(inputWidth), out] (the previous layer gives \(inputWidth) features)")
                }
                if let (biasName, bias) = resolved["bias"] {
                    guard bias.elementCount == kernel.shape[1], bias.shape.filter({ $0 != 1 }).count <= 1 else {
                        throw shapeError(biasName, bias, "[\(kernel.shape[1])] (the kernel's output size)")
                    }
                    resolved["bias"] = (biasName, bias.reshaped([kernel.shape[1]]))
                }
                outputWidth = kernel.shape[1]
            case .batchNormalization(_, let axis):
                guard let (meanName, mean) = resolved["moving_mean"] else {
                    preconditionFailure("spec parser requires mean")
                }
                let channels = mean.elementCount
                if axis == -1, let inputWidth, channels != inputWidth {
                    throw shapeError(meanName, mean, "[\(inputWidth)] (one value per channel of the previous layer)")
                }
                for parameter in ["moving_mean", "moving_variance", "gamma", "beta"] {
                    guard let (name, tensor) = resolved[parameter] else { continue }
                    guard tensor.elementCount == channels, tensor.shape.filter({ $0 != 1 }).count <= 1 else {
                        throw shapeError(name, tensor, "[\(channels)] (as many values as the mean has)")
                    }
                    resolved[parameter] = (name, tensor.reshaped([channels]))
                }
            default:
                // Specs name dense, batchnorm, activation and dropout layers only.
                break
            }
            for (parameter, value) in resolved {
                parameters["\(entry.name)/\(parameter)"] = value.tensor
            }
            width[entry.name] = outputWidth
            layers.append(Layer(name: entry.name, op: entry.op, inputs: inputs))
            previous = entry.name
        }
        return Model(layers: layers, parameters: parameters)
    }

    /// SHA-256 of a file, or of a directory's files in path order.
    public static func sha256(ofFile path: String) throws -> String {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        var hasher = SHA256()
        let files: [String]
        if isDirectory.boolValue {
            let enumerator = FileManager.default.enumerator(atPath: path)
            files = ((enumerator?.allObjects as? [String]) ?? []).sorted().map { path + "/" + $0 }
                .filter {
                    (try? FileManager.default.attributesOfItem(atPath: $0)[.type] as? FileAttributeType) == .typeRegular
                }
        } else {
            files = CheckpointSource.bundleFiles(path) ?? [path]
        }
        for file in files {
            guard let handle = FileHandle(forReadingAtPath: file) else {
                throw FileError(path: file, reason: "cannot be opened for reading")
            }
            defer { try? handle.close() }
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(chunk)
            }
        }
        return hasher.finalize()
    }
}
