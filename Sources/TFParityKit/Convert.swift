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
