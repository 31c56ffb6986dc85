import TensorCore

/// One file recorded in a zip archive's central directory.
struct ZipEntry: Sendable, Equatable {
    var name: String
    var rawName: [UInt8]
    var flags: UInt16
    var method: UInt16
    var crc32: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    var localHeaderOffset: Int

    var isEncrypted: Bool { flags & 0x0001 != 0 }
    var isDirectory: Bool { name.hasSuffix("/") }
}

/// Reads a zip archive's central directory (APPNOTE.TXT 4.3), ZIP64 included, from bytes held in memory.
///
/// Only what the central directory records is trusted for sizes; local headers are checked against it.
enum ZipDirectory {
    static let endOfCentralDirectorySignature: UInt32 = 0x0605_4b50
    static let zip64EndOfCentralDirectorySignature: UInt32 = 0x0606_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    static let centralHeaderSignature: UInt32 = 0x0201_4b50
    static let localHeaderSignature: UInt32 = 0x0403_4b50
    /// The end record (22 bytes) plus the longest possible comment (65 535 bytes).
    static let endRecordSearchLength = 22 + 0xFFFF

    /// The archive's entries, in central-directory order.
    static func entries(of storage: ArchiveStorage, path: String) throws -> [ZipEntry] {
        let end = try EndRecord.find(in: storage, path: path)
        func malformed(_ detail: String) -> NPYError { .malformedArchive(path: path, member: nil, detail: detail) }

        let (directoryEnd, overflow) = end.directoryOffset.addingReportingOverflow(end.directorySize)
        guard !overflow, directoryEnd <= end.recordOffset else {
            throw malformed(
                "central directory (offset \(end.directoryOffset), \(end.directorySize) bytes) "
                    + "extends past its end record at offset \(end.recordOffset)")
        }
        // Each central header takes at least 46 bytes: a claimed count beyond that is a lie, not a reason to loop.
        guard end.entryCount <= end.directorySize / 46 else {
            throw malformed("\(end.entryCount) entries cannot fit in a \(end.directorySize)-byte central directory")
        }
        var reader = ByteReader(try storage.read(end.directoryOffset..<directoryEnd))
        var entries: [ZipEntry] = []
        do {
            for _ in 0..<end.entryCount {
                entries.append(try readCentralHeader(&reader, path: path))
            }
        } catch is TruncatedData {
            throw malformed("central directory entry \(entries.count + 1) runs past the directory's end")
        }
        return entries
    }

    private static func readCentralHeader(_ reader: inout ByteReader, path: String) throws -> ZipEntry {
        let start = reader.offset
        guard try reader.readLittleEndian(UInt32.self) == centralHeaderSignature else {
            throw NPYError.malformedArchive(
                path: path, member: nil, detail: "bad central directory header signature at directory offset \(start)")
        }
        try reader.skip(4)  // version made by, version needed
        let flags = try reader.readLittleEndian(UInt16.self)
        let method = try reader.readLittleEndian(UInt16.self)
        try reader.skip(4)  // time, date
        let crc = try reader.readLittleEndian(UInt32.self)
        let compressed32 = try reader.readLittleEndian(UInt32.self)
        let uncompressed32 = try reader.readLittleEndian(UInt32.self)
        let nameLength = Int(try reader.readLittleEndian(UInt16.self))
        let extraLength = Int(try reader.readLittleEndian(UInt16.self))
        let commentLength = Int(try reader.readLittleEndian(UInt16.self))
        let diskStart32 = try reader.readLittleEndian(UInt16.self)
        try reader.skip(6)  // internal and external attributes
        let offset32 = try reader.readLittleEndian(UInt32.self)
        let rawName = Array(try reader.readBytes(nameLength))
        let extra = try reader.readBytes(extraLength)
        try reader.skip(commentLength)
        let name = decodeName(rawName)

        // ZIP64 (4.5.3): the extra field holds, in this order, only the values whose 32-bit field is saturated.
        var uncompressedSize = UInt64(uncompressed32)
        var compressedSize = UInt64(compressed32)
        var localHeaderOffset = UInt64(offset32)
        var diskStart = UInt32(diskStart32)
        let needsZip64 =
            uncompressed32 == .max || compressed32 == .max || offset32 == .max || diskStart32 == .max
        if needsZip64 {
            guard var field = try zip64Field(in: extra) else {
                throw NPYError.malformedArchive(
                    path: path, member: name, detail: "saturated size or offset without a ZIP64 extra field")
            }
            do {
                if uncompressed32 == .max { uncompressedSize = try field.readLittleEndian(UInt64.self) }
                if compressed32 == .max { compressedSize = try field.readLittleEndian(UInt64.self) }
                if offset32 == .max { localHeaderOffset = try field.readLittleEndian(UInt64.self) }
                if diskStart32 == .max { diskStart = try field.readLittleEndian(UInt32.self) }
            } catch is TruncatedData {
                throw NPYError.malformedArchive(path: path, member: name, detail: "ZIP64 extra field too short")
            }
        }
        guard diskStart == 0 else {
            throw NPYError.unsupportedArchiveFeature(
                path: path, member: name, detail: "multi-disk archive (member starts on disk \(diskStart))")
        }
        guard let compressed = Int(exactly: compressedSize), let uncompressed = Int(exactly: uncompressedSize),
            let offset = Int(exactly: localHeaderOffset)
        else {
            throw NPYError.malformedArchive(path: path, member: name, detail: "size or offset beyond 2^63")
        }
        return ZipEntry(
            name: name, rawName: rawName, flags: flags, method: method, crc32: crc, compressedSize: compressed,
            uncompressedSize: uncompressed, localHeaderOffset: offset)
    }

    /// The data of the ZIP64 extended-information extra field (header ID 0x0001), if present.
    private static func zip64Field(in extra: ArraySlice<UInt8>) throws -> ByteReader? {
        var reader = ByteReader(extra)
        while reader.remaining >= 4 {
            let id = try reader.readLittleEndian(UInt16.self)
            let size = Int(try reader.readLittleEndian(UInt16.self))
            guard size <= reader.remaining else { return nil }
            let data = try reader.readBytes(size)
            if id == 0x0001 { return ByteReader(data) }
        }
        return nil
    }

    /// Zip names are UTF-8 (flag bit 11) or, in old archives, CP437; ASCII covers both, and bytes that are
    /// not UTF-8 are shown one character per byte rather than rejected.
    static func decodeName(_ bytes: [UInt8]) -> String {
        String(validating: bytes, as: UTF8.self)
            ?? String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    /// The byte range of `entry`'s stored or compressed data, after checking its local header.
    ///
    /// The local header must carry the central directory's name and method; its sizes are not used (they may
    /// be zero or saturated when a data descriptor or ZIP64 is in play).
    static func dataRange(of entry: ZipEntry, in storage: ArchiveStorage, path: String) throws -> Range<Int> {
        func malformed(_ detail: String) -> NPYError {
            .malformedArchive(path: path, member: entry.name, detail: detail)
        }
        // The fixed 30 bytes end with the lengths of the name and extra field that follow; both reads stop at the
        // end of the file, and a header cut short there is caught as truncated below.
        let headerStart = entry.localHeaderOffset
        let fixed = try storage.read(upTo: 30, from: headerStart)
        let variableLength =
            fixed.count == 30 ? (Int(fixed[26]) | Int(fixed[27]) << 8) + (Int(fixed[28]) | Int(fixed[29]) << 8) : 0
        var reader = ByteReader(try storage.read(upTo: 30 + variableLength, from: headerStart))
        do {
            guard try reader.readLittleEndian(UInt32.self) == localHeaderSignature else {
                throw malformed("bad local header signature at offset \(entry.localHeaderOffset)")
            }
            try reader.skip(2)  // version needed
            let flags = try reader.readLittleEndian(UInt16.self)
            let method = try reader.readLittleEndian(UInt16.self)
            try reader.skip(16)  // time, date, CRC-32, sizes
            let nameLength = Int(try reader.readLittleEndian(UInt16.self))
            let extraLength = Int(try reader.readLittleEndian(UInt16.self))
            let localName = Array(try reader.readBytes(nameLength))
            guard localName == entry.rawName else {
                throw malformed(
                    "local header names '\(decodeName(localName))', the central directory '\(entry.name)'")
            }
            guard method == entry.method else {
                throw malformed(
                    "local header says compression method \(method), the central directory \(entry.method)")
            }
            guard flags & 0x0001 == 0 else {
                throw NPYError.unsupportedArchiveFeature(
                    path: path, member: entry.name, detail: "encrypted member (flag bit 0 set)")
            }
            try reader.skip(extraLength)
        } catch is TruncatedData {
            throw malformed("local header at offset \(entry.localHeaderOffset) runs past the end of the file")
        }
        let start = headerStart + reader.offset
        guard entry.compressedSize <= storage.count - start else {
            throw malformed(
                "member data (\(entry.compressedSize) bytes at offset \(start)) extends past the end of the file "
                    + "(\(storage.count) bytes)")
        }
        return start..<(start + entry.compressedSize)
    }
}

/// The end-of-central-directory record, with ZIP64 values substituted when a ZIP64 record exists.
private struct EndRecord {
    var recordOffset: Int
    var entryCount: Int
    var directorySize: Int
    var directoryOffset: Int

    /// Scans back from the end of the file, at most the end record plus a maximal comment.
    static func find(in storage: ArchiveStorage, path: String) throws -> EndRecord {
        let size = storage.count
        guard size >= 22 else {
            throw NPYError.notAZipArchive(path: path, detail: "\(size) bytes is too short for a zip archive")
        }
        let lowest = max(0, size - ZipDirectory.endRecordSearchLength)
        // The searched tail, and the 20-byte ZIP64 locator that may precede its lowest candidate.
        let base = max(0, lowest - 20)
        let tail = try storage.read(base..<size)
        var candidate = size - 22
        while candidate >= lowest {
            if let record = try read(at: candidate, in: tail, base: base, storage: storage, path: path) {
                return record
            }
            candidate -= 1
        }
        throw NPYError.notAZipArchive(
            path: path, detail: "no end-of-central-directory record in the last \(size - lowest) bytes")
    }

    /// The record at file offset `offset`, or nil when the bytes there are not one (wrong signature or comment
    /// length). `tail` holds the file from `base` to its end.
    private static func read(at offset: Int, in tail: [UInt8], base: Int, storage: ArchiveStorage, path: String) throws
        -> EndRecord?
    {
        var reader = ByteReader(tail)
        func malformed(_ detail: String) -> NPYError { .malformedArchive(path: path, member: nil, detail: detail) }
        do {
            try reader.seek(to: offset - base)
            guard try reader.readLittleEndian(UInt32.self) == ZipDirectory.endOfCentralDirectorySignature else {
                return nil
            }
            let disk = try reader.readLittleEndian(UInt16.self)
            let directoryDisk = try reader.readLittleEndian(UInt16.self)
            let entriesOnDisk = try reader.readLittleEndian(UInt16.self)
            let entries = try reader.readLittleEndian(UInt16.self)
            let size = try reader.readLittleEndian(UInt32.self)
            let directoryOffset = try reader.readLittleEndian(UInt32.self)
            let commentLength = Int(try reader.readLittleEndian(UInt16.self))
            guard commentLength <= reader.remaining else { return nil }

            var record = EndRecord(
                recordOffset: offset, entryCount: Int(entries), directorySize: Int(size),
                directoryOffset: Int(directoryOffset))
            var multiDisk = disk != 0 || directoryDisk != 0 || entriesOnDisk != entries

            // ZIP64 end-of-central-directory locator (4.3.15), 20 bytes right before the end record.
            if offset >= 20 {
                try reader.seek(to: offset - 20 - base)
                if try reader.readLittleEndian(UInt32.self) == ZipDirectory.zip64LocatorSignature {
                    try reader.skip(4)  // disk holding the ZIP64 end record
                    let zip64Offset = try reader.readLittleEndian(UInt64.self)
                    let diskCount = try reader.readLittleEndian(UInt32.self)
                    if diskCount > 1 { multiDisk = true }
                    guard let zip64Start = Int(exactly: zip64Offset), zip64Start <= offset - 20 - 56 else {
                        throw malformed("ZIP64 end record offset \(zip64Offset) is outside the file")
                    }
                    reader = ByteReader(try storage.read(zip64Start..<(zip64Start + 56)))
                    guard try reader.readLittleEndian(UInt32.self) == ZipDirectory.zip64EndOfCentralDirectorySignature
                    else {
                        throw malformed("bad ZIP64 end record signature at offset \(zip64Start)")
                    }
                    try reader.skip(12)  // record size, versions
                    let disk64 = try reader.readLittleEndian(UInt32.self)
                    let directoryDisk64 = try reader.readLittleEndian(UInt32.self)
                    let entriesOnDisk64 = try reader.readLittleEndian(UInt64.self)
                    let entries64 = try reader.readLittleEndian(UInt64.self)
                    let size64 = try reader.readLittleEndian(UInt64.self)
                    let directoryOffset64 = try reader.readLittleEndian(UInt64.self)
                    multiDisk = multiDisk || disk64 != 0 || directoryDisk64 != 0 || entriesOnDisk64 != entries64
                    guard let count = Int(exactly: entries64), let size = Int(exactly: size64),
                        let start = Int(exactly: directoryOffset64)
                    else {
                        throw malformed("ZIP64 end record values beyond 2^63")
                    }
                    record = EndRecord(
                        recordOffset: zip64Start, entryCount: count, directorySize: size, directoryOffset: start)
                }
            }
            guard !multiDisk else {
                throw NPYError.unsupportedArchiveFeature(
                    path: path, member: nil, detail: "multi-disk (spanned) archive")
            }
            return record
        } catch is TruncatedData {
            throw malformed("end-of-central-directory record at offset \(offset) is truncated")
        }
    }
}
