import Foundation
import HDF5Kit
import NumPyFormat
import SafeTensors
import TFGraph
import TensorCore

/// A file of named tensors: an NPZ archive, a directory of `.npy` files, an HDF5 file, a safetensors file.
public protocol TensorSource {
    /// The path as the user named it, for messages.
    var path: String { get }
    /// Every tensor name, as the source spells it.
    var tensorNames: [String] { get }
    /// Reads one tensor by its exact name.
    func readTensor(_ name: String) throws -> Tensor
    /// The element type and shape of a tensor, read without its data where the format allows.
    func tensorInfo(_ name: String) throws -> (dtype: DType, shape: [Int])
    /// Where the file holds the tensor's bytes exactly as a model stores them, for copying them file to file; nil
    /// where they must be decoded or checked on the way (compressed, converted, checksummed formats).
    func storedRange(_ name: String) throws -> FileRange?
}

extension TensorSource {
    public func storedRange(_ name: String) throws -> FileRange? { nil }

    /// Formats that cannot describe a tensor without decoding it (NPY, NPZ) read it and keep only its layout.
    public func tensorInfo(_ name: String) throws -> (dtype: DType, shape: [Int]) {
        let tensor = try readTensor(name)
        return (tensor.dtype, tensor.shape)
    }
}

/// What kind of file a source is, judged by its content.
public enum SourceKind: String, Sendable, Equatable {
    case npz
    case npy
    case npyDirectory = "npy-directory"
    case hdf5
    case safetensors
    case tensorflowCheckpoint = "tf-checkpoint"
    case savedModel = "saved-model"
    /// A binary GraphDef (`frozen.pb`): the architecture, weights as its constants.
    case tensorflowGraph = "tf-graph"
    /// Legacy `.h5` saved by Keras 2 (tf.keras / tf_keras): `model_config` plus `model_weights/<layer>/…:0`.
    case keras2H5 = "keras2-h5"
    /// Legacy `.h5` saved by Keras 3: `model_config` plus `model_weights/<layer>/<model>/<layer>/…`.
    case keras3H5 = "keras3-h5"
    /// Keras 3 `.keras` zip: `config.json`, `metadata.json`, `model.weights.h5`.
    case keras3Keras = "keras3-keras"
    /// Keras 3 `.weights.h5` (`layers/<name>/vars/N`), whose architecture comes from a separate config JSON.
    case keras3Weights = "keras3-weights"

    /// The Keras model files, whose architecture comes from their config rather than a spec.
    public var isKeras: Bool { [.keras2H5, .keras3H5, .keras3Keras, .keras3Weights].contains(self) }
}

public enum SourceDetection {
    static let hdf5Signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]

    /// Recognises `path` by its bytes (and, for directories and checkpoint prefixes, by the files it names).
    public static func kind(of path: String) throws -> SourceKind {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            if manager.fileExists(atPath: path + "/variables/variables.index")
                || manager.fileExists(atPath: path + "/saved_model.pb")
            {
                return .savedModel
            }
            return .npyDirectory
        }
        if !manager.fileExists(atPath: path) {
            if manager.fileExists(atPath: path + ".index") { return .tensorflowCheckpoint }
            throw FileError(path: path, reason: "no such file or directory")
        }
        // Without blocking: a FIFO or a device is refused here, before any reader (or libhdf5) is given the name.
        let handle: FileHandle
        switch FileIO.openRegularFile(path) {
        case .success(let opened): handle = FileHandle(fileDescriptor: opened.descriptor, closeOnDealloc: true)
        case .failure(let failure): throw FileError(path: path, reason: failure.reason)
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
        if head.starts(with: [0x50, 0x4b, 0x03, 0x04]) || head.starts(with: [0x50, 0x4b, 0x05, 0x06]) {
            return KerasFiles.isKerasArchive(path) ? .keras3Keras : .npz
        }
        if head.starts(with: [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]) { return .npy }
        if head.starts(with: hdf5Signature) { return try KerasFiles.hdf5Kind(path) }
        // HDF5 allows a user block of 512, 1024, 2048… bytes before the superblock.
        var offset: UInt64 = 512
        while offset <= 1 << 20 {
            try? handle.seek(toOffset: offset)
            guard let probe = try? handle.read(upToCount: 8), probe.count == 8 else { break }
            if [UInt8](probe) == hdf5Signature { return try KerasFiles.hdf5Kind(path) }
            offset *= 2
        }
        if head.count >= 9, head[8] == UInt8(ascii: "{") { return .safetensors }
        if CheckpointSource.isCheckpointFile(path) { return .tensorflowCheckpoint }
        if GraphSourceFiles.isGraphDef(path) { return .tensorflowGraph }
        // A `.pb` that does not decode as a GraphDef: why (the node and field where it breaks), not only that it is
        // none of the kinds.
        if path.hasSuffix(".pb") { _ = try GraphDef.read(contentsOf: path) }
        throw FileError(
            path: path,
            reason:
                "not a recognised source (expected NPZ, NPY, HDF5, safetensors, a TensorFlow checkpoint or GraphDef)")
    }

    /// Opens `path` as a tensor source; `known` skips detection when the caller has already detected the kind.
    public static func open(_ path: String, kind known: SourceKind? = nil) throws -> (TensorSource, SourceKind) {
        let kind = try known ?? kind(of: path)
        switch kind {
        case .npz: return (try TensorFileSource<NPZArchive>(path: path), kind)
        case .npy: return (try SingleNPYSource(path: path), kind)
        case .npyDirectory: return (try TensorFileSource<NPYDirectory>(path: path), kind)
        case .hdf5, .keras2H5, .keras3H5, .keras3Weights: return (try HDF5Source(path: path), kind)
        case .keras3Keras: return (try HDF5Source(kerasArchive: path), kind)
        case .safetensors: return (try TensorFileSource<SafeTensorsFile>(path: path), kind)
        case .tensorflowCheckpoint, .savedModel: return (try CheckpointSource(path: path), kind)
        case .tensorflowGraph:
            throw FileError(
                path: path,
                reason: "a frozen GraphDef holds its weights as graph constants, not named tensors for a spec")
        }
    }
}

/// The reader of a file format that opens a path and reads tensors by name: all a `TensorFileSource` needs.
protocol TensorFile {
    init(path: String) throws
    var names: [String] { get }
    func tensor(named name: String) throws -> Tensor
    /// The element type and shape of a tensor; by default read with the tensor (`TensorSource.tensorInfo`).
    func tensorInfo(named name: String) throws -> (dtype: DType, shape: [Int])?
}

extension TensorFile {
    func tensorInfo(named name: String) throws -> (dtype: DType, shape: [Int])? { nil }
}

/// The source of a `TensorFile` (NPZ, a directory of NPY files, safetensors).
struct TensorFileSource<File: TensorFile>: TensorSource {
    let path: String
    let file: File
    init(path: String) throws {
        self.path = path
        file = try File(path: path)
    }
    var tensorNames: [String] { file.names }
    func readTensor(_ name: String) throws -> Tensor { try file.tensor(named: name) }
    func tensorInfo(_ name: String) throws -> (dtype: DType, shape: [Int]) {
        if let info = try file.tensorInfo(named: name) { return info }
        let tensor = try readTensor(name)
        return (tensor.dtype, tensor.shape)
    }
}

extension NPZArchive: TensorFile {
    func tensorInfo(named name: String) throws -> (dtype: DType, shape: [Int])? {
        let header = try header(named: name)
        return (header.dtype, header.shape)
    }
}

extension NPYDirectory: TensorFile {}

extension SafeTensorsFile: TensorFile {
    func tensorInfo(named name: String) throws -> (dtype: DType, shape: [Int])? {
        guard let info = info(name) else { throw SafeTensorsError.tensorNotFound(path: path, tensor: name) }
        return info
    }
}

struct SingleNPYSource: TensorSource {
    let path: String
    let tensor: Tensor
    let name: String
    init(path: String) throws {
        self.path = path
        tensor = try NPYFile.read(path: path)
        name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }
    var tensorNames: [String] { [name] }
    func readTensor(_ requested: String) throws -> Tensor {
        guard requested == name else { throw FileError(path: path, member: requested, reason: "no such tensor") }
        return tensor
    }
}

/// A source whose tensors are the datasets of an HDF5 file: an HDF5 dump or Keras file, or a `.keras` archive's
/// extracted weights (one type for both: only how the file is opened, and what must outlive it, differ).
struct HDF5Source: TensorSource {
    let path: String
    let hdf5: HDF5File
    /// A `.keras` archive's extraction (nil for an HDF5 file of its own): owned here, it lives as long as this source
    /// (and the pending tensors that capture it).
    let extraction: ExtractedWeights?
    let tensorNames: [String]

    private init(path: String, hdf5: HDF5File, extraction: ExtractedWeights?) throws {
        self.path = path
        self.hdf5 = hdf5
        self.extraction = extraction
        tensorNames = try hdf5.datasetPaths()
    }

    /// An HDF5 file, opened once the isolation probe has read it.
    init(path: String) throws {
        try HDF5Isolation.check(path)
        try self.init(path: path, hdf5: try HDF5File(path: path), extraction: nil)
    }

    /// The weights of a `.keras` file (its `model.weights.h5`, extracted to a private file).
    init(kerasArchive path: String) throws {
        let weights = try ExtractedWeights(try ZipArchive(path: path), member: KerasFiles.weightsMember)
        try self.init(path: path, hdf5: weights.file, extraction: weights)
    }

    func readTensor(_ name: String) throws -> Tensor { try hdf5.readTensor(name) }
    func tensorInfo(_ name: String) throws -> (dtype: DType, shape: [Int]) { try hdf5.datasetInfo(name) }
    func storedRange(_ name: String) throws -> FileRange? { try hdf5.describe(name).stored }
}

/// Resolves user-written tensor names against a source's names, tolerating `:0`, `.npy` and a leading `/`.
public struct TensorNameIndex {
    private var actualByKey: [String: String] = [:]
    let names: [String]

    public init(_ names: [String]) {
        self.names = names
        for name in names {
            let key = Self.normalise(name)
            if actualByKey[key] == nil { actualByKey[key] = name }
        }
    }

    public static func normalise(_ name: String) -> String {
        var key = Substring(name)
        while key.hasPrefix("/") { key = key.dropFirst() }
        if key.hasSuffix(".npy") { key = key.dropLast(4) }
        if key.hasSuffix(":0") { key = key.dropLast(2) }
        return String(key)
    }

    /// The source's spelling of `name`, or nil.
    public func resolve(_ name: String) -> String? { actualByKey[Self.normalise(name)] }

    /// Up to three source names closest to `name`, for "did you mean" hints.
    public func suggestions(for name: String) -> [String] {
        let target = Self.normalise(name)
        let leaf = target.split(separator: "/").last.map(String.init) ?? target
        // Edit distance costs name length squared per name; against a hostile source of millions of names, rank
        // only the first 10 000 that end in the same leaf.
        let candidates =
            names.count <= 10_000
            ? names : Array(names.lazy.filter { Self.normalise($0).hasSuffix(leaf) }.prefix(10_000))
        let scored = candidates.map { candidate -> (String, Int) in
            let key = Self.normalise(candidate)
            var score = editDistance(key, target)
            if key.hasSuffix(leaf) { score -= 3 }
            return (candidate, score)
        }
        return scored.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(3).map(\.0)
    }

    private func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
