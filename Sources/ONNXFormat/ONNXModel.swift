import Foundation
import ProtobufWire
import TensorCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A whole ONNX model (`ModelProto`): the graph, the operator sets it is written against and its metadata.
public struct ONNXModel: Sendable, Equatable {
    /// The newest `ai.onnx` opset onnxruntime's current release (1.32.0) runs: it refuses 29 ("Current official
    /// support for domain ai.onnx is till opset 28").
    public static let defaultOpset = 28
    /// Protobuf's limit on one message (2 GiB − 1); a larger model keeps its initializers in external data.
    public static let protobufLimit = Int(Int32.max)
    /// Where initializers start in an external data file: 64 KiB, Windows' mapping granularity (a multiple of every
    /// page size), so runtimes can map them in place.
    public static let externalDataAlignment = 1 << 16
    /// Initializers smaller than this stay inline even when the others go to external data, as onnx's own
    /// `convert_model_to_external_data` keeps them (`size_threshold=1024`): shape constants stay readable.
    public static let smallestExternalTensor = 1024

    public var irVersion: Int
    public var opsetImports: [ONNXOperatorSet]
    public var producerName: String
    public var producerVersion: String
    public var graph: ONNXGraph
    /// `metadata_props`, in order: provenance (source, its SHA-256, tfparity's version, the recording checked on).
    public var metadata: [ONNXStringEntry]

    /// A model importing the default domain at `opset`, with the IR version that opset shipped with unless given.
    public init(
        graph: ONNXGraph, opset: Int = ONNXModel.defaultOpset, irVersion: Int? = nil, producerName: String = "tfparity",
        producerVersion: String = "", metadata: [ONNXStringEntry] = []
    ) {
        self.graph = graph
        opsetImports = [ONNXOperatorSet(version: opset)]
        self.irVersion = irVersion ?? Self.irVersion(forOpset: opset)
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.metadata = metadata
    }

    /// The IR version of the onnx release that introduced `opset` (onnx's `helper.VERSION_TABLE`): the oldest IR a
    /// runtime that knows the opset must read, so a model asks no more of a runtime than its opset does.
    public static func irVersion(forOpset opset: Int) -> Int {
        switch opset {
        case ...8: 3
        case 9: 4
        case 10: 5
        case 11: 6
        case 12...14: 7
        case 15...18: 8
        case 19...20: 9
        case 21...22: 10
        case 23: 11
        case 24: 12
        case 25...27: 13
        default: 14
        }
    }
}

extension ONNXModel: ProtobufFields {
    // ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7, opset_import = 8,
    // metadata_props = 14.
    public func writeFields(to sink: inout some ProtobufFieldSink) {
        sink.writeInt64(1, Int64(irVersion))
        if !producerName.isEmpty { sink.writeString(2, producerName) }
        if !producerVersion.isEmpty { sink.writeString(3, producerVersion) }
        sink.writeMessage(7, graph)
        sink.writeMessages(8, opsetImports)
        sink.writeMessages(14, metadata)
    }
}

/// What `ONNXModel.write(to:externalDataThreshold:)` wrote.
public struct ONNXWriteResult: Sendable, Equatable {
    public var modelBytes: Int
    /// The external data file beside the model; nil when every initializer is inline.
    public var externalDataPath: String?
    public var externalDataBytes: Int

    public init(modelBytes: Int, externalDataPath: String?, externalDataBytes: Int) {
        self.modelBytes = modelBytes
        self.externalDataPath = externalDataPath
        self.externalDataBytes = externalDataBytes
    }
}

extension ONNXModel {
    /// Writes the model to `path` atomically; when its encoding would exceed `externalDataThreshold` bytes, the
    /// initializers of at least `smallestExternalTensor` bytes go to `<file name>.data` beside it (ONNX external data:
    /// `location`, `offset`, `length`, each offset a multiple of `externalDataAlignment`).
    ///
    /// Each file is written to a temporary file beside its destination, synced and read back (the model compared byte
    /// for byte with its encoding, which is first re-parsed; every external tensor compared with its bytes), then
    /// renamed into place: the data file first, the model right after. A failure before the renames leaves both
    /// destinations untouched; between the two renames (a failed rename of the model) an earlier model at `path`
    /// would be left beside the new data. A stale `.data` file of an earlier, larger export is not removed.
    /// - Parameter externalDataThreshold: the largest model written as one file; the default is protobuf's limit.
    /// - Throws: `ONNXError.writeFailed` naming the file that failed, `.modelTooLarge` when even the graph without its
    ///   large initializers is over protobuf's limit.
    @discardableResult
    public func write(to path: String, externalDataThreshold: Int = ONNXModel.protobufLimit) throws(ONNXError)
        -> ONNXWriteResult
    {
        guard encodedSize > externalDataThreshold else {
            let bytes = serializedBytes()
            try Self.writeModel(bytes, to: path)
            return ONNXWriteResult(modelBytes: bytes.count, externalDataPath: nil, externalDataBytes: 0)
        }
        let dataPath = path + ".data"
        let location = URL(fileURLWithPath: dataPath).lastPathComponent
        // Placement first, so a graph too large even without its weights fails before anything is written.
        var placed = self
        var pieces: [(offset: Int, bytes: [UInt8])] = []
        var end = 0
        for index in placed.graph.initializers.indices {
            guard case .raw(let bytes) = placed.graph.initializers[index].contents,
                bytes.count >= Self.smallestExternalTensor
            else { continue }
            let offset =
                (end + Self.externalDataAlignment - 1) / Self.externalDataAlignment * Self.externalDataAlignment
            pieces.append((offset, bytes))
            placed.graph.initializers[index].contents = .external(
                ONNXExternalData(location: location, offset: offset, length: bytes.count))
            end = offset + bytes.count
        }
        let modelSize = placed.encodedSize
        guard modelSize <= Self.protobufLimit else { throw .modelTooLarge(path: path, size: modelSize) }
        // Nothing large enough to move: one file after all, rather than an empty data file.
        guard !pieces.isEmpty else {
            let bytes = serializedBytes()
            try Self.writeModel(bytes, to: path)
            return ONNXWriteResult(modelBytes: bytes.count, externalDataPath: nil, externalDataBytes: 0)
        }

        let dataFile = try Self.output(dataPath) { () throws(FileError) in try AtomicFile(replacing: dataPath) }
        // Its blocks first: a disk without room fails before any tensor is written.
        try Self.output(dataPath) { () throws(FileError) in try dataFile.reserve(end) }
        let zeros = [UInt8](repeating: 0, count: Self.externalDataAlignment)
        for piece in pieces {
            if piece.offset > dataFile.size {
                try Self.output(dataPath) { () throws(FileError) in
                    try dataFile.write(Array(zeros[0..<(piece.offset - dataFile.size)]))
                }
            }
            try Self.output(dataPath) { () throws(FileError) in try dataFile.write(piece.bytes) }
        }
        let bytes = placed.serializedBytes()
        let modelFile = try Self.prepareModel(bytes, to: path)
        try Self.commit(dataFile, path: dataPath) { temporaryPath throws(ONNXError) in
            try Self.readBack(temporaryPath, path: dataPath, size: end, pieces: pieces)
        }
        try Self.commit(modelFile, path: path) { temporaryPath throws(ONNXError) in
            try Self.readBack(temporaryPath, path: path, size: bytes.count, pieces: [(0, bytes)])
        }
        return ONNXWriteResult(modelBytes: bytes.count, externalDataPath: dataPath, externalDataBytes: end)
    }

    private static func writeModel(_ bytes: [UInt8], to path: String) throws(ONNXError) {
        let file = try prepareModel(bytes, to: path)
        try commit(file, path: path) { temporaryPath throws(ONNXError) in
            try readBack(temporaryPath, path: path, size: bytes.count, pieces: [(0, bytes)])
        }
    }

    /// The model's bytes, re-parsed, in a temporary file beside `path` (not yet committed).
    private static func prepareModel(_ bytes: [UInt8], to path: String) throws(ONNXError) -> AtomicFile {
        do {
            _ = try ONNXModelOutline(bytes[...])
        } catch {
            preconditionFailure("the encoded model does not parse: \(error)")
        }
        let file = try output(path) { () throws(FileError) in try AtomicFile(replacing: path) }
        try output(path) { () throws(FileError) in try file.reserve(bytes.count) }
        try output(path) { () throws(FileError) in try file.write(bytes) }
        return file
    }

    private static func output<T>(_ path: String, _ body: () throws(FileError) -> T) throws(ONNXError) -> T {
        do { return try body() } catch { throw .writeFailed(path: path, reason: error.reason) }
    }

    private static func commit(
        _ file: AtomicFile, path: String, check: (String) throws(ONNXError) -> Void
    ) throws(ONNXError) {
        do {
            try file.commit { temporaryPath in try check(temporaryPath) }
        } catch let error as ONNXError {
            throw error
        } catch let error as FileError {
            throw .writeFailed(path: path, reason: error.reason)
        } catch {
            throw .writeFailed(path: path, reason: "\(error)")
        }
    }

    /// Checks the synced file is `size` bytes holding each piece's bytes at its offset.
    private static func readBack(
        _ temporaryPath: String, path: String, size: Int, pieces: [(offset: Int, bytes: [UInt8])]
    ) throws(ONNXError) {
        let descriptor = open(temporaryPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .writeFailed(path: path, reason: "cannot read back: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, Int(status.st_size) == size else {
            throw .writeFailed(path: path, reason: "the written file is not the \(size) bytes written")
        }
        for piece in pieces {
            var same = true
            let failure = piece.bytes.withUnsafeBytes { expected in
                FileIO.withBlocks(descriptor, offset: piece.offset, count: expected.count) { block, position in
                    if same { same = memcmp(block.baseAddress!, expected.baseAddress! + position, block.count) == 0 }
                }
            }
            guard failure == nil, same else {
                throw .writeFailed(path: path, reason: "the written file does not read back as written")
            }
        }
    }
}

/// The counts a model's bytes parse to: the check that an encoding is well-formed protobuf down to the graph's
/// entries (every length inside its parent).
struct ONNXModelOutline: Equatable {
    var irVersion: Int64 = 0
    var nodes = 0
    var initializers = 0
    var inputs = 0
    var outputs = 0

    init(_ bytes: ArraySlice<UInt8>) throws {
        var model = ProtobufReader(bytes)
        while let (number, wireType) = try model.nextField() {
            switch number {
            case 1:
                irVersion = try model.int64()
            case 7:
                try ProtobufReader.expect(.lengthDelimited, wireType, field: 7, "graph")
                var graph = ProtobufReader(try model.lengthDelimited())
                while let (field, type) = try graph.nextField() {
                    switch field {
                    case 1: nodes += 1
                    case 5: initializers += 1
                    case 11: inputs += 1
                    case 12: outputs += 1
                    default: break
                    }
                    try graph.skip(type)
                }
            default:
                try model.skip(wireType)
            }
        }
    }
}
