import Foundation
import ParityModel
import Synchronization
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
    ///
    /// Parameters stream from source to model file one layer at a time: converting needs memory for the largest
    /// layer, not for the model.
    public static func convert(
        source sourcePath: String, spec specPath: String?, config configPath: String? = nil, output outputPath: String,
        progress: ProgressHandler? = nil
    ) throws -> ConvertResult {
        // The provenance digest reads the whole source: it runs on another core while the model is planned and
        // written, and goes into the header at the end (a placeholder of its length holds the place until then).
        let digest = BackgroundDigest(path: sourcePath)
        let (plan, kind) = try plan(
            source: sourcePath, spec: specPath, config: configPath,
            digest: { _ in String(repeating: "0", count: 64) })
        try ModelFile.write(
            plan, to: outputPath,
            progress: { index, count, name in progress?(ProgressEvent(completed: index, total: count, label: name)) },
            finalProvenance: {
                // Set by `plan` for every source.
                var provenance = plan.provenance!
                provenance.sha256 = try digest.value()
                return provenance
            })
        progress?(ProgressEvent(completed: plan.parameters.count, total: plan.parameters.count, label: "done"))
        let layouts = plan.parameters.values
        let elements = layouts.map { Shape.elementCount($0.shape) ?? 0 }
        return ConvertResult(
            output: outputPath, sourceKind: kind, layerCount: plan.layers.count, tensorCount: plan.parameters.count,
            parameterCount: elements.reduce(0, +),
            byteCount: layouts.map { Shape.byteCount($0.shape, dtype: $0.dtype) ?? 0 }.reduce(0, +))
    }

    /// Builds the model a source and spec (or a Keras file's config) describe, with every parameter read and
    /// checked.
    public static func loadModel(source sourcePath: String, spec specPath: String?, config configPath: String? = nil)
        throws -> (Model, SourceKind)
    {
        let (plan, kind) = try plan(source: sourcePath, spec: specPath, config: configPath)
        return (try plan.materialize(), kind)
    }

    /// The model a source describes, its parameters not yet read: names resolved, shapes checked from the source's
    /// own description of its tensors.
    public static func plan(source sourcePath: String, spec specPath: String?, config configPath: String? = nil)
        throws -> (ModelPlan, SourceKind)
    {
        try plan(source: sourcePath, spec: specPath, config: configPath, digest: sha256(ofFile:))
    }

    /// `plan`, with the provenance digest of the source made by `digest`.
    static func plan(
        source sourcePath: String, spec specPath: String?, config configPath: String?,
        digest: (String) throws -> String
    ) throws -> (ModelPlan, SourceKind) {
        let detected = try SourceDetection.kind(of: sourcePath)
        if specPath == nil, detected.isKeras || (configPath != nil && detected == .hdf5) {
            let kind = detected == .hdf5 ? SourceKind.keras3Weights : detected
            var plan = try KerasFiles.plan(path: sourcePath, kind: kind, config: configPath)
            plan.provenance = Provenance(
                source: URL(fileURLWithPath: sourcePath).lastPathComponent, sha256: try digest(sourcePath),
                sourceKind: kind.rawValue, spec: configPath.map { URL(fileURLWithPath: $0).lastPathComponent },
                toolVersion: toolVersion)
            return (plan, kind)
        }
        let (source, kind) = try SourceDetection.open(sourcePath, kind: detected)
        guard let specPath else {
            throw FileError(
                path: sourcePath,
                reason: "a \(kind.rawValue) source holds no architecture: pass --spec SPEC.yaml naming its tensors")
        }
        let spec = try Spec.load(path: specPath)
        var plan = try buildPlan(spec: spec, source: source)
        plan.provenance = Provenance(
            source: URL(fileURLWithPath: sourcePath).lastPathComponent, sha256: try digest(sourcePath),
            sourceKind: kind.rawValue, spec: URL(fileURLWithPath: specPath).lastPathComponent, toolVersion: toolVersion)
        return (plan, kind)
    }

    /// Resolves the spec's references in `source` and checks that each layer's shapes fit the layer before it.
    static func buildPlan(spec: Spec, source: TensorSource) throws -> ModelPlan {
        let index = TensorNameIndex(source.tensorNames)
        var layers: [Layer] = []
        var parameters: [String: PendingTensor] = [:]
        // The size of the last axis flowing out of each layer, where known.
        var width: [String: Int] = [:]
        var previous = Model.inputName

        for entry in spec.layers {
            let inputs = entry.inputs ?? [previous]
            let inputWidth = inputs.first.flatMap { width[$0] }
            /// A referenced tensor: its name in the source, layout, and the shape the model stores it under.
            struct Reference {
                var name: String
                var dtype: DType
                var shape: [Int]
                var modelShape: [Int]
                var count: Int { Shape.elementCount(shape) ?? 0 }
                var isVector: Bool { shape.filter { $0 != 1 }.count <= 1 }
            }
            func shapeError(_ reference: Reference, _ expected: String) -> FileError {
                FileError(
                    path: source.path, member: reference.name,
                    reason:
                        "shape \(Shape.describe(reference.shape)) does not fit layer '\(entry.name)': expected \(expected)"
                )
            }
            var resolved: [String: Reference] = [:]
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
                resolved[reference.parameter] = Reference(
                    name: actual, dtype: info.dtype, shape: info.shape, modelShape: info.shape)
            }
            var outputWidth = inputWidth
            switch entry.op {
            case .dense:
                guard let kernel = resolved["kernel"] else { preconditionFailure("spec parser requires kernel") }
                guard kernel.shape.count == 2 else { throw shapeError(kernel, "a 2-D [in, out] kernel") }
                if let inputWidth, kernel.shape[0] != inputWidth {
                    throw shapeError(kernel, "[\(inputWidth), out] (the previous layer gives \(inputWidth) features)")
                }
                if var bias = resolved["bias"] {
                    guard bias.count == kernel.shape[1], bias.isVector else {
                        throw shapeError(bias, "[\(kernel.shape[1])] (the kernel's output size)")
                    }
                    bias.modelShape = [kernel.shape[1]]
                    resolved["bias"] = bias
                }
                outputWidth = kernel.shape[1]
            case .batchNormalization(_, let axis):
                guard let mean = resolved["moving_mean"] else { preconditionFailure("spec parser requires mean") }
                let channels = mean.count
                if axis == -1, let inputWidth, channels != inputWidth {
                    throw shapeError(mean, "[\(inputWidth)] (one value per channel of the previous layer)")
                }
                for parameter in ["moving_mean", "moving_variance", "gamma", "beta"] {
                    guard var reference = resolved[parameter] else { continue }
                    guard reference.count == channels, reference.isVector else {
                        throw shapeError(reference, "[\(channels)] (as many values as the mean has)")
                    }
                    reference.modelShape = [channels]
                    resolved[parameter] = reference
                }
            default:
                // Specs name dense, batchnorm, activation and dropout layers only.
                break
            }
            for (parameter, reference) in resolved {
                // A reshape keeps the bytes, so a tensor stored as it is can be copied whatever its model shape.
                parameters["\(entry.name)/\(parameter)"] = PendingTensor(
                    dtype: reference.dtype, shape: reference.modelShape, stored: try source.storedRange(reference.name)
                ) {
                    let tensor = try source.readTensor(reference.name)
                    // A tensor that is not what the source announced is handed on as read, for the plan to refuse.
                    guard tensor.dtype == reference.dtype, tensor.shape == reference.shape else { return tensor }
                    return tensor.reshaped(reference.modelShape)
                }
            }
            width[entry.name] = outputWidth
            layers.append(Layer(name: entry.name, op: entry.op, inputs: inputs))
            previous = entry.name
        }
        return ModelPlan(layers: layers, parameters: parameters, provenance: nil, sourcePath: source.path)
    }

    /// SHA-256 of a file, or of a directory's files in path order.
    public static func sha256(ofFile path: String) throws -> String {
        try sha256(ofFile: path, cancelled: { false })
    }

    /// `sha256(ofFile:)`, giving up with `CancellationError` when `cancelled` turns true.
    static func sha256(ofFile path: String, cancelled: () -> Bool) throws -> String {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let hasher = SHA256()
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
            let descriptor = open(file, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw FileError(path: file, reason: "cannot be opened for reading") }
            defer { close(descriptor) }
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw FileError(path: file, reason: "cannot be read") }
            let failure = try FileIO.withBlocks(descriptor, offset: 0, count: Int(status.st_size)) { window, _ in
                if cancelled() { throw CancellationError() }
                hasher.update(window)
            }
            if let failure {
                throw FileError(path: file, reason: "cannot be read: \(String(cString: strerror(failure)))")
            }
        }
        return hasher.finalize()
    }
}

/// A file's SHA-256, computed on a thread of its own from the moment this is made; `value()` waits for it. Dropping it
/// unfinished stops the computation at the next window (and waits for the thread to end).
final class BackgroundDigest {
    /// What the thread shares with its owner.
    private final class State: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        let cancelled = Atomic<Bool>(false)
        // Written once by the thread before `done` is signalled, read only after waiting for it.
        var result: Result<String, any Error> = .failure(CancellationError())
    }
    private let state = State()

    init(path: String) {
        let state = self.state
        Thread {
            state.result = Result { try Converter.sha256(ofFile: path) { state.cancelled.load(ordering: .relaxed) } }
            state.done.signal()
        }.start()
    }

    /// Stops the computation at its next window and waits for the thread to finish, so no thread is left reading
    /// when the process exits (OpenSSL's exit handlers would free what it uses).
    deinit {
        state.cancelled.store(true, ordering: .relaxed)
        state.done.wait()
    }

    func value() throws -> String {
        state.done.wait()
        state.done.signal()
        return try state.result.get()
    }
}
