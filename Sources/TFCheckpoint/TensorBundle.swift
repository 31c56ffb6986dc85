import Foundation
import ProtobufWire
import TensorCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One entry of a checkpoint, as `tf.train.list_variables` lists it.
public struct BundleEntry: Sendable, Equatable {
    /// What tfparity can do with an entry.
    public enum Kind: Sendable, Equatable {
        /// A dense tensor tfparity reads.
        case tensor(DType)
        /// A string tensor (`_CHECKPOINTABLE_OBJECT_GRAPH`, vocabularies): listed, skipped.
        case string
        /// A variable saved in this many slices (TF1 partitioned variables): listed, refused.
        case partitioned(slices: Int)
        /// Another TensorFlow type (complex, quantised, resource…): listed, refused.
        case unsupported
    }

    /// The name as TensorFlow shows it: `layer0/W`, `model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE`.
    public var name: String
    /// TensorFlow's name for the type: `float32`, `bfloat16`, `string`, `complex64`…
    public var dtypeName: String
    public var shape: [Int]
    public var kind: Kind

    /// The element type, for tensors tfparity reads.
    public var dtype: DType? {
        if case .tensor(let dtype) = kind { return dtype }
        return nil
    }
}

/// A TensorFlow tensor bundle (the checkpoint format of `tf.compat.v1.train.Saver`, `tf.train.Checkpoint` and
/// SavedModel variables): `PREFIX.index` plus data shards `PREFIX.data-NNNNN-of-NNNNN`.
///
/// Opening reads and checks the whole index (every block's checksum, the header, every entry against its shard's
/// size); tensors are read on demand, each with one positioned read of its own bytes, so memory stays near the size
/// of the tensor being read.
public final class TensorBundle {
    /// The bundle prefix: `model.ckpt`, or `DIR/variables/variables` for a SavedModel.
    public let prefix: String
    public let indexPath: String
    /// The data shard files, in shard order.
    public let dataPaths: [String]
    /// Every entry but the header, in key order (the order `tf.train.list_variables` gives).
    public let entries: [BundleEntry]

    /// Each tensor's index record, and its position in `entries`.
    private let records: [String: (record: BundleEntryRecord, entry: Int)]
    private let shards: [FileHandle]

    /// Opens a checkpoint named by its prefix (`model.ckpt`), its index (`model.ckpt.index`), one of its data files,
    /// or a SavedModel directory.
    ///
    /// - Throws: `CheckpointError` naming the file at fault (and the tensor, where one is involved).
    public init(path: String) throws {
        prefix = try Self.prefix(for: path)
        indexPath = prefix + ".index"
        let data: [UInt8]
        switch FileIO.readRegularFile(indexPath, limit: .max) {
        case .success(let bytes): data = bytes
        case .failure(let failure) where failure.number == ENOENT:
            throw CheckpointError.unreadable(path: indexPath, reason: "cannot be read")
        case .failure(let failure): throw CheckpointError.unreadable(path: indexPath, reason: failure.reason)
        }
        let index = CheckpointIndex(path: indexPath, bytes: data)
        let pairs = try index.entries()
        guard let first = pairs.first, first.key.isEmpty else {
            throw CheckpointError.badHeader(
                path: indexPath, reason: "no bundle header (the entry under the empty key is missing)")
        }
        let header: BundleHeaderRecord
        do {
            header = try BundleHeaderRecord.parse(first.value)
        } catch let error as ProtobufReader.Malformed {
            throw CheckpointError.badHeader(path: indexPath, reason: "corrupt bundle header: \(error.reason)")
        }
        guard header.endianness == 0 else {
            throw CheckpointError.badHeader(
                path: indexPath,
                reason: "a big-endian bundle (written on a big-endian machine); tfparity reads little-endian bundles")
        }
        // tensor_bundle's own version is 1; a writer can exclude older readers with min_consumer / bad_consumers.
        guard header.minConsumer <= 1, !header.badConsumers.contains(1) else {
            throw CheckpointError.badHeader(
                path: indexPath,
                reason: "bundle version \(header.producer) needs a newer reader (min_consumer \(header.minConsumer))")
        }
        guard header.numShards >= 1, header.numShards <= 100_000 else {
            throw CheckpointError.badHeader(path: indexPath, reason: "the header claims \(header.numShards) shards")
        }
        var dataPaths: [String] = []
        var shardSizes: [Int64] = []
        var shards: [FileHandle] = []
        for shard in 0..<header.numShards {
            let dataPath = Self.dataPath(prefix: prefix, shard: shard, count: header.numShards)
            guard FileManager.default.fileExists(atPath: dataPath) else {
                throw CheckpointError.missingShard(path: dataPath, shard: shard, count: header.numShards)
            }
            let handle: FileHandle
            switch FileIO.openRegularFile(dataPath) {
            case .success(let opened): handle = FileHandle(fileDescriptor: opened.descriptor, closeOnDealloc: true)
            case .failure(let failure): throw CheckpointError.unreadable(path: dataPath, reason: failure.reason)
            }
            var status = stat()
            guard fstat(handle.fileDescriptor, &status) == 0 else {
                throw CheckpointError.unreadable(path: dataPath, reason: "cannot be examined (fstat failed)")
            }
            dataPaths.append(dataPath)
            shardSizes.append(Int64(status.st_size))
            shards.append(handle)
        }

        var entries: [BundleEntry] = []
        var records: [String: (record: BundleEntryRecord, entry: Int)] = [:]
        for (key, value) in pairs.dropFirst() {
            let name = String(decoding: key, as: UTF8.self)
            let record: BundleEntryRecord
            do {
                record = try BundleEntryRecord.parse(value)
            } catch let error as ProtobufReader.Malformed {
                throw CheckpointError.malformedEntry(path: indexPath, tensor: name, reason: error.reason)
            }
            // Slices of a partitioned variable are stored under binary keys starting with NUL; the variable's own
            // entry (with `slices` set) lists it.
            if key.first == 0 { continue }
            if record.unknownRank {
                throw CheckpointError.malformedEntry(
                    path: indexPath, tensor: name, reason: "the shape has unknown rank")
            }
            let kind: BundleEntry.Kind
            if record.sliceCount > 0 {
                kind = .partitioned(slices: record.sliceCount)
            } else if let dtype = TensorFlowDType.dtype(record.dtype) {
                kind = .tensor(dtype)
            } else if record.dtype == TensorFlowDType.string {
                kind = .string
            } else {
                kind = .unsupported
            }
            if record.sliceCount == 0 {
                try Self.check(
                    record, kind: kind, name: name, indexPath: indexPath, dataPaths: dataPaths,
                    shardSizes: shardSizes)
            }
            records[name] = (record, entries.count)
            entries.append(
                BundleEntry(name: name, dtypeName: TensorFlowDType.name(record.dtype), shape: record.shape, kind: kind))
        }
        self.dataPaths = dataPaths
        self.shards = shards
        self.entries = entries
        self.records = records
    }

    /// Checks what can be checked without reading data: size against shape × dtype, shard id, and that the bytes lie
    /// inside the shard.
    private static func check(
        _ record: BundleEntryRecord, kind: BundleEntry.Kind, name: String, indexPath: String, dataPaths: [String],
        shardSizes: [Int64]
    ) throws {
        func fail(_ reason: String) -> CheckpointError {
            .malformedEntry(path: indexPath, tensor: name, reason: reason)
        }
        guard record.shardID < dataPaths.count else {
            throw fail("shard_id \(record.shardID), but the bundle has \(dataPaths.count) shards")
        }
        guard record.offset >= 0, record.size >= 0 else {
            throw fail("negative offset \(record.offset) or size \(record.size)")
        }
        if case .tensor(let dtype) = kind {
            guard let expected = Shape.byteCount(record.shape, dtype: dtype) else {
                throw fail("shape \(Shape.describe(record.shape)) overflows")
            }
            guard Int64(expected) == record.size else {
                throw fail(
                    "size \(record.size) bytes, but shape \(Shape.describe(record.shape)) of \(dtype.numpyName) "
                        + "takes \(expected)")
            }
        }
        let (end, overflow) = record.offset.addingReportingOverflow(record.size)
        guard !overflow, end <= shardSizes[record.shardID] else {
            throw CheckpointError.outsideShard(
                path: dataPaths[record.shardID], tensor: name, end: overflow ? .max : end,
                shardSize: shardSizes[record.shardID])
        }
    }

    /// The entry named `name`, if there is one.
    public func entry(named name: String) -> BundleEntry? {
        records[name].map { entries[$0.entry] }
    }

    /// Reads one tensor with a single positioned read of its bytes, and checks them against the entry's CRC-32C.
    public func tensor(named name: String) throws -> Tensor {
        guard let (record, position) = records[name] else {
            throw CheckpointError.noSuchTensor(path: prefix, tensor: name)
        }
        let entry = entries[position]
        let dtype: DType
        switch entry.kind {
        case .tensor(let type): dtype = type
        case .string: throw CheckpointError.stringTensor(path: indexPath, tensor: name)
        case .partitioned(let slices): throw CheckpointError.partitioned(path: indexPath, tensor: name, slices: slices)
        case .unsupported: throw CheckpointError.unsupportedDType(path: indexPath, tensor: name, dtype: entry.dtypeName)
        }
        let dataPath = dataPaths[record.shardID]
        let descriptor = shards[record.shardID].fileDescriptor
        let size = Int(record.size)
        let bytes: [UInt8]
        switch FileIO.read(descriptor, count: size, at: Int(record.offset)) {
        case .success(let read):
            bytes = read
        case .failure(let failure) where failure.number == EIO:
            // The shard was long enough when it was opened; it has shrunk since.
            var status = stat()
            let shardSize = fstat(descriptor, &status) == 0 ? Int64(status.st_size) : record.offset
            throw CheckpointError.outsideShard(
                path: dataPath, tensor: name, end: record.offset + record.size, shardSize: shardSize)
        case .failure(let failure):
            throw CheckpointError.unreadable(path: dataPath, reason: "read failed: \(failure.description)")
        }
        if record.hasCRC32C {
            let stored = CRC32C.unmask(record.maskedCRC32C)
            let computed = CRC32C.checksum(bytes)
            guard stored == computed else {
                throw CheckpointError.tensorChecksumMismatch(
                    path: dataPath, tensor: name, stored: stored, computed: computed)
            }
        }
        return Tensor(dtype: dtype, shape: record.shape, bytes: bytes)
    }

    /// The elements of a string tensor (`_CHECKPOINTABLE_OBJECT_GRAPH`, the serialised object graph of a TF2
    /// checkpoint), read with one positioned read and checked against the entry's CRC-32C.
    ///
    /// TensorFlow stores a string tensor as every element's length (varint64), a masked CRC-32C of those lengths,
    /// then the bytes (tensor_bundle.cc, `WriteStringTensor`); the entry's checksum covers the lengths as
    /// little-endian uint32s (uint64 past 4 GiB), the length checksum and the bytes.
    public func stringElements(named name: String) throws -> [[UInt8]] {
        guard let (record, position) = records[name] else {
            throw CheckpointError.noSuchTensor(path: prefix, tensor: name)
        }
        guard entries[position].kind == .string else {
            throw CheckpointError.malformedEntry(path: indexPath, tensor: name, reason: "not a string tensor")
        }
        let dataPath = dataPaths[record.shardID]
        let bytes: [UInt8]
        switch FileIO.read(shards[record.shardID].fileDescriptor, count: Int(record.size), at: Int(record.offset)) {
        case .success(let read): bytes = read
        case .failure(let failure):
            throw CheckpointError.unreadable(path: dataPath, reason: "read failed: \(failure.description)")
        }
        func bad(_ reason: String) -> CheckpointError { .malformedEntry(path: dataPath, tensor: name, reason: reason) }
        // Every element takes at least one length byte, so a count beyond the size is damage, refused unallocated.
        guard let count = Shape.elementCount(record.shape), count <= bytes.count else {
            throw bad("shape \(Shape.describe(record.shape)) does not fit in \(bytes.count) bytes")
        }
        var reader = ByteReader(bytes)
        var lengths: [Int] = []
        lengths.reserveCapacity(count)
        var crc: UInt32 = 0
        do {
            for _ in 0..<count {
                let length = try reader.readVarint()
                guard length <= UInt64(bytes.count) else { throw bad("a string claims \(length) bytes") }
                if length <= UInt64(UInt32.max) {
                    crc = CRC32C.update(crc, with: Self.littleEndian(UInt32(length)))
                } else {
                    crc = CRC32C.update(crc, with: Self.littleEndian(length))
                }
                lengths.append(Int(length))
            }
            let lengthsChecksum = try reader.readBytes(4)
            let storedLengthsCRC = UInt32(
                littleEndian: lengthsChecksum.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
            guard CRC32C.unmask(storedLengthsCRC) == crc else {
                throw bad("the string lengths do not match their checksum")
            }
            crc = CRC32C.update(crc, with: lengthsChecksum)
            var elements: [[UInt8]] = []
            elements.reserveCapacity(count)
            for length in lengths {
                let element = try reader.readBytes(length)
                crc = CRC32C.update(crc, with: element)
                elements.append(Array(element))
            }
            guard reader.isAtEnd else { throw bad("\(reader.remaining) bytes follow the last string") }
            if record.hasCRC32C, CRC32C.unmask(record.maskedCRC32C) != crc {
                throw CheckpointError.tensorChecksumMismatch(
                    path: dataPath, tensor: name, stored: CRC32C.unmask(record.maskedCRC32C), computed: crc)
            }
            return elements
        } catch let error as TruncatedData {
            throw bad("the string data ends early (\(error))")
        } catch let error as VarintOverflow {
            throw bad("\(error)")
        }
    }

    private static func littleEndian<Word: FixedWidthInteger>(_ value: Word) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    /// The bundle prefix a user's path names.
    static func prefix(for path: String) throws -> String {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
            let prefix = trimmed + "/variables/variables"
            guard manager.fileExists(atPath: prefix + ".index") else { throw CheckpointError.notFound(path: path) }
            return prefix
        }
        if path.hasSuffix(".index"), manager.fileExists(atPath: path) { return String(path.dropLast(6)) }
        if manager.fileExists(atPath: path + ".index") { return path }
        if let range = path.range(of: ".data-", options: .backwards),
            manager.fileExists(atPath: String(path[..<range.lowerBound]) + ".index")
        {
            return String(path[..<range.lowerBound])
        }
        throw CheckpointError.notFound(path: path)
    }

    /// `PREFIX.data-0000k-of-0000n`.
    static func dataPath(prefix: String, shard: Int, count: Int) -> String {
        func padded(_ value: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
        }
        return "\(prefix).data-\(padded(shard))-of-\(padded(count))"
    }
}
