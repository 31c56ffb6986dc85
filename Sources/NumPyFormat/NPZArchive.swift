import TensorCore

/// An `.npz` archive (`np.savez`, `np.savez_compressed`): a zip of `.npy` members, decoded on demand.
///
/// The central directory is read up front; each member is read (`pread`, one member at a time: the archive is never
/// held whole), checked (local header, CRC-32, sizes) and decoded when asked for.
public struct NPZArchive: Sendable {
    /// The archive as the user named it.
    public let path: String
    /// Member names without the `.npy` suffix, in archive order (`layer0/W` for `layer0/W.npy`).
    public let names: [String]

    private let archive: ZipArchive
    /// Member name without `.npy` → the member's name in the archive.
    private let memberByName: [String: String]
    private var storage: ArchiveStorage { archive.storage }

    /// Deflate cannot expand data by more than this factor (a 258-byte match costs at least 2 bits).
    static let maximumDeflateRatio = 1032

    /// Opens the archive at `path` and reads its central directory.
    ///
    /// - Throws: `NPYError` when the file is unreadable, is not a zip archive, or names a member twice.
    public init(path: String) throws {
        try self.init(archive: try ZipArchive(path: path))
    }

    /// Reads an archive already in memory; `path` names it in errors.
    public init(bytes: [UInt8], path: String) throws {
        try self.init(archive: try ZipArchive(bytes: bytes, path: path))
    }

    /// The archive's members as arrays: `a.npy` and `a` name the same one, so both in one archive are refused.
    private init(archive: ZipArchive) throws {
        var memberByName: [String: String] = [:]
        for member in archive.names {
            let key = Self.key(for: member)
            guard memberByName[key] == nil else { throw NPYError.duplicateMember(path: archive.path, name: member) }
            memberByName[key] = member
        }
        self.archive = archive
        path = archive.path
        names = archive.names.map(Self.key)
        self.memberByName = memberByName
    }

    /// True when the archive holds `name`, given with or without its `.npy` suffix.
    public func contains(_ name: String) -> Bool {
        member(of: name) != nil
    }

    /// Decodes the member `name` (with or without `.npy`).
    ///
    /// - Throws: `NPYError` naming the archive and member: unknown name, encryption or an unsupported
    ///   method, a local header that disagrees with the central directory, corrupt or oversized deflate
    ///   data, a CRC-32 mismatch, or a malformed NPY payload.
    public func tensor(named name: String) throws -> Tensor {
        let (entry, range) = try member(named: name)
        func checkCRC(_ crc: UInt32) throws {
            guard crc == entry.crc32 else {
                throw NPYError.checksumMismatch(path: path, member: entry.name, expected: entry.crc32, actual: crc)
            }
        }
        guard entry.method == 0 else {
            let data = try inflateNPY(try storage.read(range)[...], entry: entry)
            try checkCRC(CRC32.checksum(data[...]))
            return try NPYFile.decode(data, path: path, member: entry.name)
        }
        guard entry.uncompressedSize == entry.compressedSize else {
            throw NPYError.malformedArchive(
                path: path, member: entry.name,
                detail: "stored member declares \(entry.compressedSize) stored but \(entry.uncompressedSize) "
                    + "uncompressed bytes")
        }
        // Header and payload are read apart so the payload becomes the tensor's bytes without another copy.
        let preamble = try storage.read(upTo: min(12, range.count), from: range.lowerBound)
        let split = min((try? NPYHeader.headerEnd(preamble[...], path: path, member: entry.name)) ?? 0, range.count)
        let head = try storage.read(range.lowerBound..<(range.lowerBound + split))
        let payload = try storage.read((range.lowerBound + split)..<range.upperBound)
        try checkCRC(CRC32.checksum(payload[...], continuing: CRC32.checksum(head[...])))
        if split > 0, let (header, dataOffset) = try? NPYHeader.parse(head[...], path: path, member: entry.name),
            dataOffset == split, payload.count == header.payloadByteCount
        {
            return NPYFile.tensor(header: header, payload: payload)
        }
        // Anything unusual is left to the whole-member decoder and its messages.
        return try NPYFile.decode(head + payload, path: path, member: entry.name)
    }

    /// The NPY header of member `name` (its dtype and shape), decoded without reading or checking its payload; a
    /// converter uses it to check shapes before it reads any data (`tensor(named:)` then checks everything).
    public func header(named name: String) throws -> NPYHeader {
        let (entry, range) = try member(named: name)
        if entry.method == 0 {
            // The preamble (10 or 12 bytes) gives the header's length; only that much is read.
            let preamble = try storage.read(upTo: min(12, range.count), from: range.lowerBound)
            let end = try NPYHeader.headerEnd(preamble[...], path: path, member: entry.name)
            let header = try storage.read(upTo: min(end, range.count), from: range.lowerBound)
            return try NPYHeader.parse(header[...], path: path, member: entry.name).header
        }
        do {
            let inflater = try RawInflater(compressed: try storage.read(range)[...])
            // Magic, version and header length: 10 bytes in format 1.0, 12 in 2.0 and 3.0.
            try inflater.inflate(upTo: 12)
            try inflater.inflate(upTo: try NPYHeader.headerEnd(inflater.output[...], path: path, member: entry.name))
            return try NPYHeader.parse(inflater.output[...], path: path, member: entry.name).header
        } catch let failure as InflateFailure {
            throw NPYError.corruptCompressedData(path: path, member: entry.name, detail: failure.message)
        }
    }

    /// The entry of member `name` and its data's range in the archive, refusing what this reader does not read. Its
    /// declared size is not trusted: inflation is bounded by the member's NPY header instead.
    private func member(named name: String) throws -> (ZipEntry, Range<Int>) {
        guard let member = member(of: name) else { throw NPYError.memberNotFound(path: path, name: name) }
        return try archive.member(member, maximumMemberBytes: .max)
    }

    /// Inflates a member no further than its NPY header says it holds.
    ///
    /// The header is inflated first; the total (header plus `shape × dtype`) then caps the output, which is
    /// also bounded by what the compressed size can expand to. The declared uncompressed size is only
    /// checked, never used to allocate.
    private func inflateNPY(_ compressed: ArraySlice<UInt8>, entry: ZipEntry) throws -> [UInt8] {
        func corrupt(_ detail: String) -> NPYError {
            .corruptCompressedData(path: path, member: entry.name, detail: detail)
        }
        do {
            let inflater = try RawInflater(compressed: compressed)
            // Magic, version and header length: 10 bytes in format 1.0, 12 in 2.0 and 3.0.
            try inflater.inflate(upTo: 12)
            let headerEnd = try NPYHeader.headerEnd(inflater.output[...], path: path, member: entry.name)
            try inflater.inflate(upTo: headerEnd)
            let (header, dataOffset) = try NPYHeader.parse(inflater.output[...], path: path, member: entry.name)
            let (total, overflow) = dataOffset.addingReportingOverflow(header.payloadByteCount)
            let (bound, boundOverflow) = compressed.count.multipliedReportingOverflow(by: Self.maximumDeflateRatio)
            guard !overflow, boundOverflow || total <= bound else {
                throw corrupt(
                    "the NPY header implies \(dataOffset) + \(header.payloadByteCount) bytes, more than "
                        + "\(compressed.count) compressed bytes can hold")
            }
            try inflater.inflate(upTo: total)
            guard inflater.output.count == total else {
                throw NPYError.truncatedPayload(
                    path: path, member: entry.name, expected: header.payloadByteCount,
                    actual: inflater.output.count - dataOffset)
            }
            if !inflater.isFinished {
                try inflater.inflate(upTo: total + 1)
                guard inflater.output.count == total else {
                    throw corrupt("the stream inflates past the \(total) bytes its NPY header implies")
                }
                guard inflater.isFinished else {
                    throw corrupt("the deflate stream does not end after the \(total) bytes its NPY header implies")
                }
            }
            guard inflater.unconsumedInputCount == 0 else {
                throw corrupt("\(inflater.unconsumedInputCount) bytes follow the end of the deflate stream")
            }
            guard total == entry.uncompressedSize else {
                throw NPYError.malformedArchive(
                    path: path, member: entry.name,
                    detail: "the central directory declares \(entry.uncompressedSize) uncompressed bytes, "
                        + "the member inflates to \(total)")
            }
            return inflater.output
        } catch let failure as InflateFailure {
            throw corrupt(failure.message)
        }
    }

    /// The archive member `name` stands for, given with or without `.npy`.
    private func member(of name: String) -> String? {
        memberByName[name] ?? (name.hasSuffix(".npy") ? memberByName[String(name.dropLast(4))] : nil)
    }

    /// `layer0/W.npy` → `layer0/W`, as `np.load(...).files` reports it.
    private static func key(for memberName: String) -> String {
        memberName.hasSuffix(".npy") ? String(memberName.dropLast(4)) : memberName
    }
}
