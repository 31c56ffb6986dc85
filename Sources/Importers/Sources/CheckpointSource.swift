import Foundation
import TFCheckpoint
import TensorCore

/// A TensorFlow checkpoint (TF1 `Saver`, TF2 `tf.train.Checkpoint`) or a SavedModel's variables, read natively.
///
/// Names are TensorFlow's own: `layer0/W`, `model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE`. Optimizer
/// slots stay listed (a spec names what it needs, so they never disturb a conversion). Bookkeeping entries
/// (`_CHECKPOINTABLE_OBJECT_GRAPH`, `save_counter`) are left out of `tensorNames`; string tensors and partitioned
/// variables stay in, so a spec naming one gets the reason it cannot be read rather than "no such tensor".
public struct CheckpointSource: TensorSource {
    public let path: String
    public let bundle: TensorBundle

    public init(path: String) throws {
        self.path = path
        bundle = try TensorBundle(path: path)
    }

    public var tensorNames: [String] {
        bundle.entries.filter { !Self.isBookkeeping($0.name) }.map(\.name)
    }

    public func readTensor(_ name: String) throws -> Tensor {
        // A partitioned variable or a string tensor named by a spec gets the bundle's own error, which says why.
        try bundle.tensor(named: name)
    }

    public func tensorInfo(_ name: String) throws -> (dtype: DType, shape: [Int]) {
        guard let entry = bundle.entry(named: name), case .tensor(let dtype) = entry.kind else {
            let tensor = try readTensor(name)  // the bundle's own error for strings and partitions
            return (tensor.dtype, tensor.shape)
        }
        return (dtype, entry.shape)
    }

    /// Entries TensorFlow adds for itself, not model state.
    public static func isBookkeeping(_ name: String) -> Bool {
        name == "_CHECKPOINTABLE_OBJECT_GRAPH" || name == "save_counter" || name.hasPrefix("save_counter/")
    }

    /// The files of the checkpoint `path` names (index first, then data shards), or nil when it names none; a
    /// SavedModel directory is hashed as a directory.
    public static func bundleFiles(_ path: String) -> [String]? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return nil
        }
        guard let bundle = try? TensorBundle(path: path) else { return nil }
        return [bundle.indexPath] + bundle.dataPaths
    }

    /// Whether `path` is a checkpoint's index (by its LevelDB footer) or one of its data shards.
    public static func isCheckpointFile(_ path: String) -> Bool {
        if path.range(of: #"\.data-\d{5}-of-\d{5}$"#, options: .regularExpression) != nil,
            let range = path.range(of: ".data-", options: .backwards)
        {
            return FileManager.default.fileExists(atPath: String(path[..<range.lowerBound]) + ".index")
        }
        guard case .success(let opened) = FileIO.openRegularFile(path) else { return false }
        let handle = FileHandle(fileDescriptor: opened.descriptor, closeOnDealloc: true)
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd(), end >= 48 else { return false }
        try? handle.seek(toOffset: end - 8)
        guard let magic = try? handle.read(upToCount: 8), magic.count == 8 else { return false }
        return [UInt8](magic) == [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]
    }
}
