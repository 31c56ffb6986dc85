import Foundation

@testable import TFCheckpoint

/// Builds tensor bundles byte by byte, for the malformed cases TensorFlow would never write.
struct BundleBuilder {
    struct Entry {
        var name: String
        var dtype: Int = 1
        var shape: [Int]
        var data: [UInt8]
        /// Overrides the entry's encoded BundleEntryProto.
        var rawValue: [UInt8]? = nil
    }

    var entries: [Entry]
    var bigEndian = false
    var snappy = false
    var magic: UInt64 = CheckpointIndex.magic
    /// Entries per data block (a small number makes several blocks).
    var blockEntries = 3
    /// Every how many entries a block stores a whole key.
    var restartInterval = 2

    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
        return out
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    static func field(_ number: Int, varint value: UInt64) -> [UInt8] {
        varint(UInt64(number << 3)) + varint(value)
    }

    static func field(_ number: Int, bytes: [UInt8]) -> [UInt8] {
        varint(UInt64(number << 3 | 2)) + varint(UInt64(bytes.count)) + bytes
    }

    static func entryProto(dtype: Int, shape: [Int], offset: Int, data: [UInt8]) -> [UInt8] {
        let dims = shape.flatMap { field(2, bytes: field(1, varint: UInt64($0))) }
        return field(1, varint: UInt64(dtype)) + field(2, bytes: dims) + field(4, varint: UInt64(offset))
            + field(5, varint: UInt64(data.count)) + varint(6 << 3 | 5)
            + littleEndian(CRC32C.mask(CRC32C.checksum(data)))
    }

    /// Snappy with literals only (a valid, if useless, compression).
    static func snappyLiterals(_ bytes: [UInt8]) -> [UInt8] {
        var out = varint(UInt64(bytes.count))
        var start = 0
        while start < bytes.count {
            let chunk = min(bytes.count - start, 256)
            if chunk <= 60 {
                out.append(UInt8((chunk - 1) << 2))
            } else {
                out += [60 << 2, UInt8(chunk - 1)]
            }
            out += bytes[start..<(start + chunk)]
            start += chunk
        }
        return out
    }

    func block(_ pairs: [([UInt8], [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var restarts: [UInt32] = []
        var previous: [UInt8] = []
        for (i, (key, value)) in pairs.enumerated() {
            var shared = 0
            if i % restartInterval == 0 {
                restarts.append(UInt32(out.count))
            } else {
                while shared < min(key.count, previous.count), key[shared] == previous[shared] { shared += 1 }
            }
            out +=
                Self.varint(UInt64(shared)) + Self.varint(UInt64(key.count - shared))
                + Self.varint(UInt64(value.count))
            out += key[shared...] + value
            previous = key
        }
        if restarts.isEmpty { restarts = [0] }
        for restart in restarts { out += Self.littleEndian(restart) }
        return out + Self.littleEndian(UInt32(restarts.count))
    }

    /// Appends a block with its trailer; returns its handle.
    func append(_ contents: [UInt8], to file: inout [UInt8]) -> [UInt8] {
        let stored = snappy ? Self.snappyLiterals(contents) : contents
        let type: UInt8 = snappy ? 1 : 0
        let handle = Self.varint(UInt64(file.count)) + Self.varint(UInt64(stored.count))
        file += stored + [type]
        file += Self.littleEndian(CRC32C.mask(CRC32C.update(CRC32C.checksum(stored), with: [type])))
        return handle
    }

    /// (index file, data file).
    func build() -> (index: [UInt8], data: [UInt8]) {
        var data: [UInt8] = []
        let header =
            Self.field(1, varint: 1) + Self.field(2, varint: bigEndian ? 1 : 0)
            + Self.field(3, bytes: Self.field(1, varint: 1))
        var pairs: [([UInt8], [UInt8])] = [([], header)]
        for entry in entries.sorted(by: { $0.name < $1.name }) {
            let value =
                entry.rawValue
                ?? Self.entryProto(dtype: entry.dtype, shape: entry.shape, offset: data.count, data: entry.data)
            data += entry.data
            pairs.append((Array(entry.name.utf8), value))
        }
        var file: [UInt8] = []
        var indexPairs: [([UInt8], [UInt8])] = []
        var start = 0
        while start < pairs.count {
            let chunk = Array(pairs[start..<min(start + blockEntries, pairs.count)])
            indexPairs.append((chunk[chunk.count - 1].0, append(block(chunk), to: &file)))
            start += blockEntries
        }
        let metaindex = append(block([]), to: &file)
        let index = append(block(indexPairs), to: &file)
        var footer = metaindex + index
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        footer += Self.littleEndian(magic)
        return (file + footer, data)
    }

    /// Writes `PREFIX.index` and `PREFIX.data-00000-of-00001` into `directory`; returns the prefix.
    func write(to directory: URL, name: String = "built.ckpt") throws -> String {
        let (index, data) = build()
        let prefix = directory.appendingPathComponent(name).path
        try Data(index).write(to: URL(fileURLWithPath: prefix + ".index"))
        try Data(data).write(to: URL(fileURLWithPath: prefix + ".data-00000-of-00001"))
        return prefix
    }
}
