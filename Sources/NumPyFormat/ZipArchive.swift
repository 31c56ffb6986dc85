import Foundation
import TensorCore

/// A zip archive's members as bytes: the container of Keras 3 `.keras` files (`config.json`, `model.weights.h5`).
///
/// The same central-directory reader as `NPZArchive`; members are stored or deflated, checked against their CRC-32
/// and their declared size, and never inflated beyond `maximumMemberBytes`.
public struct ZipArchive: Sendable {
    public let path: String
    /// File members (directories dropped), in archive order.
    public let names: [String]
    /// The archive's bytes (for `NPZArchive`, which reads members its own way).
    let storage: ArchiveStorage
    private let entries: [String: ZipEntry]

    /// Opens the archive at `path` and reads its central directory; members are read one at a time when asked for.
    public init(path: String) throws {
        try self.init(storage: try ArchiveStorage(path: path))
    }

    public init(bytes: [UInt8], path: String) throws {
        try self.init(storage: ArchiveStorage(bytes: bytes, path: path))
    }

    private init(storage: ArchiveStorage) throws {
        let path = storage.path
        let entries = try ZipDirectory.entries(of: storage, path: path).filter { !$0.isDirectory }
        var byName: [String: ZipEntry] = [:]
        for entry in entries {
            guard byName[entry.name] == nil else { throw NPYError.duplicateMember(path: path, name: entry.name) }
            byName[entry.name] = entry
        }
        self.path = path
        self.storage = storage
        self.names = entries.map(\.name)
        self.entries = byName
    }

    /// The uncompressed bytes of member `name`.
    ///
    /// - Throws: `NPYError` naming the archive and member: unknown name, encryption or an unsupported method, a
    ///   member larger than `maximumMemberBytes`, corrupt deflate data, a size or CRC-32 mismatch.
    public func data(of name: String, maximumMemberBytes: Int = 4 << 30) throws -> [UInt8] {
        let (entry, range) = try member(name, maximumMemberBytes: maximumMemberBytes)
        let data: [UInt8]
        if entry.method == 0 {
            data = try storage.read(range)
        } else {
            do {
                let inflater = try RawInflater(compressed: try storage.read(range)[...])
                try inflater.inflate(upTo: entry.uncompressedSize + 1)
                data = inflater.output
            } catch let failure as InflateFailure {
                throw NPYError.corruptCompressedData(path: path, member: name, detail: failure.message)
            }
        }
        guard data.count == entry.uncompressedSize else {
            throw NPYError.malformedArchive(
                path: path, member: name,
                detail: "declares \(entry.uncompressedSize) uncompressed bytes, holds \(data.count)")
        }
        let crc = CRC32.checksum(data[...])
        guard crc == entry.crc32 else {
            throw NPYError.checksumMismatch(path: path, member: name, expected: entry.crc32, actual: crc)
        }
        return data
    }

    /// Writes member `name`, uncompressed, to `destination` (an open, empty, writable file), checked as `data(of:)`
    /// checks it. A stored member is streamed in blocks, so extracting costs one block of memory whatever its size;
    /// a deflated one is inflated in memory first.
    /// - Throws: `NPYError` naming the archive and member as `data(of:)` does; `FileError` naming `destinationName`
    ///   when it cannot be written.
    public func extract(
        _ name: String, to destination: Int32, destinationName: String, maximumMemberBytes: Int = 4 << 30
    ) throws {
        let (entry, range) = try member(name, maximumMemberBytes: maximumMemberBytes)
        func write(_ bytes: [UInt8], at offset: Int) throws {
            if let failure = FileIO.writeFully(destination, bytes, at: offset) {
                throw FileError(
                    path: destinationName,
                    reason: "cannot be written (extracting \(path): \(name)): \(String(cString: strerror(failure)))")
            }
        }
        guard entry.method == 0 else {
            try write(try data(of: name, maximumMemberBytes: maximumMemberBytes), at: 0)
            return
        }
        guard range.count == entry.uncompressedSize else {
            throw NPYError.malformedArchive(
                path: path, member: name,
                detail: "declares \(entry.uncompressedSize) uncompressed bytes, holds \(range.count)")
        }
        var crc: UInt32 = 0
        var offset = 0
        let block = 4 << 20
        while offset < range.count {
            let bytes = try storage.read(
                (range.lowerBound + offset)..<(range.lowerBound + min(range.count, offset + block)))
            crc = CRC32.checksum(bytes[...], continuing: crc)
            try write(bytes, at: offset)
            offset += bytes.count
        }
        guard crc == entry.crc32 else {
            throw NPYError.checksumMismatch(path: path, member: name, expected: entry.crc32, actual: crc)
        }
    }

    /// The entry of member `name` and its data's range, refusing what this reader does not read: encryption,
    /// methods other than stored (0) and deflate (8), a declared size over `maximumMemberBytes`.
    func member(_ name: String, maximumMemberBytes: Int) throws -> (ZipEntry, Range<Int>) {
        guard let entry = entries[name] else { throw NPYError.memberNotFound(path: path, name: name) }
        guard !entry.isEncrypted else {
            throw NPYError.unsupportedArchiveFeature(
                path: path, member: name, detail: "encrypted member (flag bit 0 set)")
        }
        guard entry.method == 0 || entry.method == 8 else {
            throw NPYError.unsupportedArchiveFeature(
                path: path, member: name, detail: "compression method \(Self.describeMethod(entry.method))")
        }
        guard entry.uncompressedSize <= maximumMemberBytes else {
            throw NPYError.unsupportedArchiveFeature(
                path: path, member: name,
                detail: "declares \(entry.uncompressedSize) bytes, more than the \(maximumMemberBytes) allowed")
        }
        return (entry, try ZipDirectory.dataRange(of: entry, in: storage, path: path))
    }

    private static func describeMethod(_ method: UInt16) -> String {
        let name: String? =
            switch method {
            case 1: "shrink"
            case 6: "implode"
            case 9: "deflate64"
            case 12: "bzip2"
            case 14: "LZMA"
            case 93: "zstd"
            case 95: "xz"
            case 99: "AES encryption"
            default: nil
            }
        let described = name.map { "\(method) (\($0))" } ?? "\(method)"
        return described + "; only stored (0) and deflate (8) are supported"
    }
}
