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

    /// The most `data(of:)` holds in memory by default: far beyond any Keras `config.json` (ResNet152's is 0.6 MB).
    public static let defaultInMemoryLimit = 16 << 20

    /// The uncompressed bytes of member `name`, held in memory: for small members (a `config.json`).
    ///
    /// A member declaring more than `maximumMemberBytes` is refused before anything is inflated; one that inflates to
    /// more than it declares is refused at the first byte beyond it.
    /// - Throws: `NPYError` naming the archive and member: unknown name, encryption or an unsupported method, a
    ///   member too large, corrupt deflate data, a size or CRC-32 mismatch.
    public func data(of name: String, maximumMemberBytes: Int = defaultInMemoryLimit) throws -> [UInt8] {
        let (entry, range) = try member(name, maximumMemberBytes: maximumMemberBytes)
        var data: [UInt8] = []
        data.reserveCapacity(entry.uncompressedSize)
        try unpack(entry, range) { block in data.append(contentsOf: block) }
        return data
    }

    /// Writes member `name`, uncompressed, to `destination` (an open, empty, writable file), checked as `data(of:)`
    /// checks it. Stored or deflated, the member is streamed block by block, so extracting costs two blocks of memory
    /// whatever its size. Before anything is written, its declared size is checked against `maximumMemberBytes`,
    /// against what its compressed size can inflate to, and against the space free on `destination`'s file system
    /// (`fstatvfs`); inflating stops at the first byte beyond the declared size.
    /// - Throws: `NPYError` naming the archive and member as `data(of:)` does; `FileError` naming `destinationName`
    ///   when it cannot be written.
    /// - Parameter checkStart: called with the first block (up to 1 MiB) before anything is written, to refuse a
    ///   member that is not what it should be (not HDF5) without inflating the rest.
    public func extract(
        _ name: String, to destination: Int32, destinationName: String, maximumMemberBytes: Int = 4 << 30,
        checkStart: ((UnsafeRawBufferPointer) throws -> Void)? = nil
    ) throws {
        let (entry, range) = try member(name, maximumMemberBytes: maximumMemberBytes)
        var space = statvfs()
        if fstatvfs(destination, &space) == 0 {
            // A little is left for everyone else on the disk.
            let free = Int(
                clamping: UInt64(space.f_bavail).multipliedReportingOverflow(by: UInt64(space.f_frsize)).partialValue)
            let reserve = 64 << 20
            guard entry.uncompressedSize <= free - reserve else {
                throw NPYError.memberTooLarge(
                    path: path, member: name,
                    detail:
                        "declares \(entry.uncompressedSize) bytes uncompressed, more than the \(max(0, free - reserve)) "
                        + "bytes free for extracting it (\(destinationName))")
            }
        }
        var offset = 0
        try unpack(entry, range) { block in
            if offset == 0 { try checkStart?(block) }
            if let failure = FileIO.writeFully(destination, block, at: offset) {
                throw FileError(
                    path: destinationName,
                    reason: "cannot be written (extracting \(path): \(name)): \(String(cString: strerror(failure)))")
            }
            offset += block.count
        }
    }

    /// Deflate cannot compress better than 1032 to 1 (a 258-byte match in every two bits or so); a member declaring
    /// more than that over its compressed size lies about one or the other.
    static let maximumDeflateRatio = 1032

    /// Reads the member's data block by block, inflating it when deflated, and hands each uncompressed block to
    /// `sink`; checks the total against the declared size (refusing the first byte beyond it, before handing it on)
    /// and the CRC-32 at the end.
    private func unpack(_ entry: ZipEntry, _ range: Range<Int>, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws
    {
        let name = entry.name
        let declared = entry.uncompressedSize
        func tooMany() -> NPYError {
            .malformedArchive(
                path: path, member: name, detail: "inflates to more than the \(declared) bytes it declares")
        }
        var crc: UInt32 = 0
        var produced = 0
        func accept(_ block: UnsafeRawBufferPointer) throws {
            guard block.count <= declared - produced else { throw tooMany() }
            crc = CRC32.checksum(block, continuing: crc)
            produced += block.count
            try sink(block)
        }
        let block = 1 << 20
        if entry.method == 0 {
            guard range.count == declared else {
                throw NPYError.malformedArchive(
                    path: path, member: name, detail: "declares \(declared) uncompressed bytes, holds \(range.count)")
            }
            var offset = 0
            while offset < range.count {
                let bytes = try storage.read(
                    (range.lowerBound + offset)..<(range.lowerBound + min(range.count, offset + block)))
                try bytes.withUnsafeBytes { try accept($0) }
                offset += bytes.count
            }
        } else {
            let (bound, overflow) = range.count.multipliedReportingOverflow(by: Self.maximumDeflateRatio)
            guard overflow || declared <= bound + 1024 else {
                throw NPYError.malformedArchive(
                    path: path, member: name,
                    detail: "declares \(declared) bytes uncompressed from \(range.count) compressed, more than "
                        + "deflate can produce (\(Self.maximumDeflateRatio) to 1)")
            }
            do {
                let inflater = try InflateStream(blockSize: block)
                var offset = 0
                while offset < range.count && !inflater.isFinished {
                    let bytes = try storage.read(
                        (range.lowerBound + offset)..<(range.lowerBound + min(range.count, offset + block)))
                    _ = try bytes.withUnsafeBytes { try inflater.feed($0, accept) }
                    offset += bytes.count
                }
                guard inflater.isFinished else {
                    throw InflateFailure(message: "the compressed data ends before the deflate stream does")
                }
            } catch let failure as InflateFailure {
                throw NPYError.corruptCompressedData(path: path, member: name, detail: failure.message)
            }
        }
        guard produced == declared else {
            throw NPYError.malformedArchive(
                path: path, member: name, detail: "declares \(declared) uncompressed bytes, holds \(produced)")
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
            throw NPYError.memberTooLarge(
                path: path, member: name,
                detail: "declares \(entry.uncompressedSize) bytes uncompressed, more than the \(maximumMemberBytes) "
                    + "allowed for it")
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
