import Foundation
import Importers
import ParityModel
import SafeTensors
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
    /// What the importer decided for the user (an unfed bool placeholder fed `false`), one line each.
    public var notes: [String] = []
}

/// Turning a source (plus a spec where the source has no architecture) into a model.
public enum Converter {
    /// Reads `sourcePath` with the architecture from `specPath` (or, for a Keras file, from its config or
    /// `configPath`), writes the model to `outputPath` atomically.
    ///
    /// Parameters stream from source to model file one layer at a time: converting needs memory for the largest
    /// layer, not for the model.
    public static func convert(
        source sourcePath: String, spec specPath: String?, config configPath: String? = nil,
        graph graphOptions: GraphImportOptions = GraphImportOptions(), output outputPath: String,
        progress: ProgressHandler? = nil
    ) throws -> ConvertResult {
        let request = try ImportRequest(source: sourcePath, spec: specPath, config: configPath, graph: graphOptions)
        // The provenance digest reads the whole source and goes into the header at the end (a placeholder of its
        // length holds the place until then). An HDF5 file's tensors are copied from the file itself, so it is read
        // once: each window is hashed and its tensors written from the same bytes (`StreamedSource`). Any other source
        // (a checkpoint's shards, a `.keras` archive whose weights are extracted first, an NPZ) is hashed on another
        // core from the start, while the model is planned and written.
        let streamedSource: SafeTensorsWriter.StreamedSource?
        let digest: () throws -> String
        if [.hdf5, .keras2H5, .keras3H5, .keras3Weights].contains(request.kind) {
            let hasher = StreamedDigest()
            streamedSource = SafeTensorsWriter.StreamedSource(path: sourcePath) { hasher.update($0) }
            digest = { hasher.finalize() }
        } else {
            let background = BackgroundDigest(path: sourcePath)
            streamedSource = nil
            digest = { try background.value() }
        }
        let (plan, kind) = try plan(
            request, spec: specPath, config: configPath, digest: { _ in String(repeating: "0", count: 64) })
        try ModelFile.write(
            plan, to: outputPath,
            progress: { index, count, name in progress?(ProgressEvent(completed: index, total: count, label: name)) },
            streamedSource: streamedSource,
            finalProvenance: {
                // Set by `plan` for every source.
                var provenance = plan.provenance!
                provenance.sha256 = try digest()
                return provenance
            })
        progress?(ProgressEvent(completed: plan.parameters.count, total: plan.parameters.count, label: "done"))
        let layouts = plan.parameters.values
        let elements = layouts.map { Shape.elementCount($0.shape) ?? 0 }
        return ConvertResult(
            output: outputPath, sourceKind: kind, layerCount: plan.layers.count, tensorCount: plan.parameters.count,
            parameterCount: elements.reduce(0, +),
            byteCount: layouts.map { Shape.byteCount($0.shape, dtype: $0.dtype) ?? 0 }.reduce(0, +),
            notes: plan.notes)
    }

    /// Builds the model a source and spec (or a Keras file's config) describe, with every parameter read and
    /// checked.
    public static func loadModel(
        source sourcePath: String, spec specPath: String?, config configPath: String? = nil,
        graph graphOptions: GraphImportOptions = GraphImportOptions()
    ) throws -> (Model, SourceKind) {
        let (plan, kind) = try plan(source: sourcePath, spec: specPath, config: configPath, graph: graphOptions)
        return (try plan.materialize(), kind)
    }

    /// The model a source describes, its parameters not yet read: names resolved, shapes checked from the source's
    /// own description of its tensors.
    public static func plan(
        source sourcePath: String, spec specPath: String?, config configPath: String? = nil,
        graph graphOptions: GraphImportOptions = GraphImportOptions()
    ) throws -> (ModelPlan, SourceKind) {
        try plan(source: sourcePath, spec: specPath, config: configPath, graph: graphOptions, digest: sha256(ofFile:))
    }

    /// `plan`, with the provenance digest of the source made by `digest`.
    static func plan(
        source sourcePath: String, spec specPath: String?, config configPath: String?,
        graph graphOptions: GraphImportOptions = GraphImportOptions(), digest: (String) throws -> String
    ) throws -> (ModelPlan, SourceKind) {
        let request = try ImportRequest(source: sourcePath, spec: specPath, config: configPath, graph: graphOptions)
        return try plan(request, spec: specPath, config: configPath, digest: digest)
    }

    /// `plan` for a request already made (its source's kind detected).
    static func plan(
        _ request: ImportRequest, spec specPath: String?, config configPath: String?,
        digest: (String) throws -> String
    ) throws -> (ModelPlan, SourceKind) {
        let sourcePath = request.source
        var (plan, kind) = try ModelImporters.plan(request)
        var graph = plan.graph
        if let file = graph?.file {
            graph?.sha256 = try sha256(ofFile: file)
            graph?.file = URL(fileURLWithPath: file).lastPathComponent
        }
        plan.provenance = Provenance(
            source: URL(fileURLWithPath: sourcePath).lastPathComponent, sha256: try digest(sourcePath),
            sourceKind: kind.rawValue,
            spec: (specPath ?? configPath).map { URL(fileURLWithPath: $0).lastPathComponent },
            toolVersion: toolVersion)
        plan.provenance?.graph = graph
        return (plan, kind)
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
            // Never blocks on a FIFO, never reads a device: the same opening every reader uses.
            let (descriptor, size): (Int32, Int)
            switch FileIO.openRegularFile(file) {
            case .success(let opened): (descriptor, size) = opened
            case .failure(let failure): throw FileError(path: file, reason: failure.reason)
            }
            defer { close(descriptor) }
            let failure = try FileIO.withBlocks(descriptor, offset: 0, count: size) { window, _ in
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
            state.result = Result {
                try Converter.sha256(ofFile: path) { state.cancelled.load(ordering: .relaxed) }
            }
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

/// The SHA-256 of a source the model writer reads once (`SafeTensorsWriter.StreamedSource`): its observer feeds every
/// window in order, on the writer's observing queue, and `finalize` is called only after the writer has returned, so
/// the hasher is never used from two threads at once.
final class StreamedDigest: @unchecked Sendable {
    private let hasher = SHA256()

    func update(_ window: UnsafeRawBufferPointer) { hasher.update(window) }

    func finalize() -> String { hasher.finalize() }
}
