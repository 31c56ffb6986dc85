import Foundation
import Importers
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
        // The provenance digest reads the whole source: it runs on another core while the model is planned and
        // written, and goes into the header at the end (a placeholder of its length holds the place until then).
        // It starts reading once the plan is known, so that it also takes the checksum of every range the writer
        // copies from the source: the read-back then checks each copy against that instead of reading the source again.
        let digest = BackgroundDigest(path: sourcePath)
        var (plan, kind) = try plan(
            source: sourcePath, spec: specPath, config: configPath, graph: graphOptions,
            digest: { _ in String(repeating: "0", count: 64) })
        digest.start(checkingCopiesOf: &plan)
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
            toolVersion: toolVersion, graph: graph)
        return (plan, kind)
    }

    /// SHA-256 of a file, or of a directory's files in path order.
    public static func sha256(ofFile path: String) throws -> String {
        try sha256(ofFile: path, cancelled: { false })
    }

    /// A range of a source file whose checksum the digest takes as it reads it.
    struct ChecksummedRange {
        var file: String
        var range: Range<Int>
        var checksum: SourceChecksum
    }

    /// `sha256(ofFile:)`, giving up with `CancellationError` when `cancelled` turns true, delivering the checksum of each
    /// of `ranges` (`ByteChecksum` of the bytes it hashed there) as soon as it has read it, and nil for those it did
    /// not read (past the end, or the digest failed or was cancelled).
    static func sha256(ofFile path: String, checking ranges: [ChecksummedRange] = [], cancelled: () -> Bool) throws
        -> String
    {
        // Whatever happens, no one waiting for a checksum waits for ever (deliver keeps only the first value).
        defer { for range in ranges { range.checksum.deliver(nil) } }
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
            // The ranges of this file in order of their start; those begun are checksummed block by block.
            var waiting = ranges.filter { $0.file == file }.sorted { $0.range.lowerBound < $1.range.lowerBound }[...]
            var active: [(range: ChecksummedRange, checksum: ByteChecksum)] = []
            let failure = try FileIO.withBlocks(descriptor, offset: 0, count: size) { window, position in
                if cancelled() { throw CancellationError() }
                hasher.update(window)
                let end = position + window.count
                while let next = waiting.first, next.range.lowerBound < end {
                    active.append((next, ByteChecksum()))
                    waiting.removeFirst()
                }
                var index = 0
                while index < active.count {
                    let range = active[index].range.range
                    let low = max(range.lowerBound, position)
                    let high = min(range.upperBound, end)
                    if low < high {
                        active[index].checksum.update(
                            UnsafeRawBufferPointer(rebasing: window[(low - position)..<(high - position)]))
                    }
                    if range.upperBound <= end {
                        active[index].range.checksum.deliver(active[index].checksum.value)
                        active.swapAt(index, active.count - 1)
                        active.removeLast()
                    } else {
                        index += 1
                    }
                }
            }
            if let failure {
                throw FileError(path: file, reason: "cannot be read: \(String(cString: strerror(failure)))")
            }
        }
        return hasher.finalize()
    }
}

/// A file's SHA-256, computed on a thread of its own once `start` hands it the ranges to take checksums of; `value()`
/// waits for it. Dropping it unfinished (or unstarted) stops the computation at the next window (and waits for the
/// thread to end).
final class BackgroundDigest {
    /// What the thread shares with its owner.
    private final class State: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let cancelled = Atomic<Bool>(false)
        // Written once by the owner before `started` is signalled, read by the thread only after waiting for it.
        var ranges: [Converter.ChecksummedRange] = []
        // Written once by the thread before `done` is signalled, read only after waiting for it.
        var result: Result<String, any Error> = .failure(CancellationError())
    }
    private let state = State()
    private let path: String

    init(path: String) {
        self.path = path
        let state = self.state
        Thread {
            state.started.wait()
            if !state.cancelled.load(ordering: .relaxed) {
                state.result = Result {
                    try Converter.sha256(ofFile: path, checking: state.ranges) {
                        state.cancelled.load(ordering: .relaxed)
                    }
                }
            }
            for range in state.ranges { range.checksum.deliver(nil) }
            state.done.signal()
        }.start()
    }

    /// Starts the digest, first giving every range `plan` copies from the digested file a checksum to be taken as the
    /// digest reads it (`FileRange.sourceChecksum`).
    func start(checkingCopiesOf plan: inout ModelPlan) {
        let files = Set(CheckpointSource.bundleFiles(path) ?? [path])
        var ranges: [Converter.ChecksummedRange] = []
        for name in plan.parameters.keys.sorted() {
            guard var stored = plan.parameters[name]?.stored, files.contains(stored.path), stored.offset >= 0 else {
                continue
            }
            let (end, overflow) = stored.offset.addingReportingOverflow(stored.count)
            guard !overflow, stored.count >= 0 else { continue }
            let checksum = SourceChecksum()
            stored.sourceChecksum = checksum
            plan.parameters[name]?.stored = stored
            ranges.append(Converter.ChecksummedRange(file: stored.path, range: stored.offset..<end, checksum: checksum))
        }
        state.ranges = ranges
        state.started.signal()
    }

    /// Stops the computation at its next window and waits for the thread to finish, so no thread is left reading
    /// when the process exits (OpenSSL's exit handlers would free what it uses).
    deinit {
        state.cancelled.store(true, ordering: .relaxed)
        state.started.signal()
        state.done.wait()
    }

    func value() throws -> String {
        state.done.wait()
        state.done.signal()
        return try state.result.get()
    }
}
