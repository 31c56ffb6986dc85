import TensorCore

/// A checkpoint that cannot be read: a missing or damaged file, a tensor tfparity does not take.
///
/// `path` names the file at fault (the `.index`, or the `.data-NNNNN-of-NNNNN` shard) and `member` the tensor when one
/// is involved, so the CLI prints `error: model.ckpt.data-00000-of-00001: layer0/W: checksum mismatch …`.
public enum CheckpointError: InputError, Equatable {
    /// Neither `PREFIX.index` nor a SavedModel's `variables/variables.index` exists.
    case notFound(path: String)
    /// A data shard the header promises is not there.
    case missingShard(path: String, shard: Int, count: Int)
    case unreadable(path: String, reason: String)
    /// The index is not a LevelDB table: footer, block handles, block layout or key order.
    case malformedTable(path: String, reason: String)
    case blockChecksumMismatch(path: String, blockOffset: Int, stored: UInt32, computed: UInt32)
    case unsupportedCompression(path: String, blockOffset: Int, type: UInt8)
    /// The `BundleHeaderProto` under the empty key is missing, corrupt or describes a bundle tfparity cannot read.
    case badHeader(path: String, reason: String)
    /// A `BundleEntryProto` that does not parse or contradicts itself.
    case malformedEntry(path: String, tensor: String, reason: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A string tensor (`DT_STRING`), listed but not read.
    case stringTensor(path: String, tensor: String)
    /// A variable saved in slices (a TF1 partitioned variable).
    case partitioned(path: String, tensor: String, slices: Int)
    /// The entry's bytes do not lie inside its shard: the shard is truncated or the entry is wrong.
    case outsideShard(path: String, tensor: String, end: Int64, shardSize: Int64)
    case tensorChecksumMismatch(path: String, tensor: String, stored: UInt32, computed: UInt32)
    case noSuchTensor(path: String, tensor: String)

    public var path: String {
        switch self {
        case .notFound(let path), .missingShard(let path, _, _), .unreadable(let path, _),
            .malformedTable(let path, _), .blockChecksumMismatch(let path, _, _, _),
            .unsupportedCompression(let path, _, _), .badHeader(let path, _), .malformedEntry(let path, _, _),
            .unsupportedDType(let path, _, _), .stringTensor(let path, _), .partitioned(let path, _, _),
            .outsideShard(let path, _, _, _), .tensorChecksumMismatch(let path, _, _, _), .noSuchTensor(let path, _):
            path
        }
    }

    public var member: String? {
        switch self {
        case .malformedEntry(_, let tensor, _), .unsupportedDType(_, let tensor, _), .stringTensor(_, let tensor),
            .partitioned(_, let tensor, _), .outsideShard(_, let tensor, _, _),
            .tensorChecksumMismatch(_, let tensor, _, _), .noSuchTensor(_, let tensor):
            Self.printable(tensor)
        default:
            nil
        }
    }

    public var reason: String {
        switch self {
        case .notFound:
            "no such checkpoint (expected PREFIX.index with PREFIX.data-NNNNN-of-NNNNN, or a SavedModel directory)"
        case .missingShard(_, let shard, let count):
            "data shard \(shard) of \(count) is missing"
        case .unreadable(_, let reason):
            reason
        case .malformedTable(_, let reason):
            "not a valid checkpoint index (LevelDB table): \(reason)"
        case .blockChecksumMismatch(_, let offset, let stored, let computed):
            "the index block at offset \(offset) is corrupt: CRC-32C \(hex(computed)), the block trailer says \(hex(stored))"
        case .unsupportedCompression(_, let offset, let type):
            "the index block at offset \(offset) uses compression type \(type) (only none and Snappy are known)"
        case .badHeader(_, let reason):
            reason
        case .malformedEntry(_, _, let reason):
            "corrupt index entry: \(reason)"
        case .unsupportedDType(_, _, let dtype):
            "unsupported dtype '\(dtype)'"
        case .stringTensor:
            "a string tensor, which holds no parameters (skipped)"
        case .partitioned(_, _, let slices):
            "a partitioned variable saved in \(slices) slices; tfparity does not assemble slices: save it unpartitioned"
        case .outsideShard(_, _, let end, let size):
            "the tensor's bytes end at offset \(end), but the shard holds only \(size) bytes (truncated?)"
        case .tensorChecksumMismatch(_, _, let stored, let computed):
            "checksum mismatch: the data's CRC-32C is \(hex(computed)), the index says \(hex(stored)) (corrupt data?)"
        case .noSuchTensor:
            "no such tensor in the checkpoint"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Tensor names come from the file: control bytes (slice keys start with NUL) are shown escaped.
    static func printable(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
