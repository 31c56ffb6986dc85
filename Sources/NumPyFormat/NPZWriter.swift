import Foundation
import TensorCore

/// Writes `.npz` archives that `numpy.load` reads: a zip of stored (uncompressed) `.npy` members.
///
/// Each member is an NPY v1.0 file (`\x93NUMPY`, version 1.0, a little-endian `u2` header length, the header dict
/// padded with spaces to a multiple of 64 bytes and ending in a newline, then the C-order little-endian data).
/// Zip records follow APPNOTE 6.3: local headers, the central directory and its end record, with ZIP64 extra fields
/// and the ZIP64 end records when a size, an offset or the member count exceeds the 32-bit (16-bit) fields.
/// Timestamps are fixed at 1980-01-01 so the same tensors always make the same bytes.
public enum NPZWriter {
    /// Writes `arrays` to `path` atomically: a temporary file beside it is written, synced, re-read with
    /// `NPZArchive` (every member decoded, checksummed and compared), then renamed over `path`.
    ///
    /// - Parameter forceZip64: write ZIP64 records even when the archive is small (for tests of the ZIP64 path).
    /// - Throws: `NPYError.writeFailed` naming `path`, `NPYError.unsupportedDType` for a type numpy has no
    ///   `descr` for (bfloat16), `NPYError.duplicateMember` for a name given twice.
    public static func write(_ arrays: [(name: String, tensor: Tensor)], to path: String, forceZip64: Bool = false)
        throws
    {
        var seen: Set<String> = []
        for (name, tensor) in arrays {
            guard seen.insert(name).inserted else { throw NPYError.duplicateMember(path: path, name: name + ".npy") }
            guard descr(tensor.dtype) != nil else {
                throw NPYError.unsupportedDType(
                    path: path, member: name, descr: tensor.dtype.numpyName, detail: "numpy has no such dtype")
            }
        }
        do {
            let file = try AtomicFile(replacing: path)
            var offset: UInt64 = 0
            var central: [UInt8] = []
            for (name, tensor) in arrays {
                let memberName = Array((name + ".npy").utf8)
                let header = npyHeader(tensor)
                let size = UInt64(header.count + tensor.bytes.count)
                var crc = CRC32.checksum(header[...])
                crc = CRC32.checksum(tensor.bytes[...], continuing: crc)
                let zip64 = forceZip64 || size >= 0xFFFF_FFFF || offset >= 0xFFFF_FFFF
                try file.write(localHeader(memberName, crc: crc, size: size, zip64: zip64))
                try file.write(header)
                try file.write(tensor.bytes)
                central += centralHeader(memberName, crc: crc, size: size, offset: offset, zip64: zip64)
                offset += UInt64(30 + memberName.count + (zip64 ? 20 : 0)) + size
            }
            try file.write(
                central
                    + endRecords(
                        count: UInt64(arrays.count), centralSize: UInt64(central.count), centralOffset: offset,
                        forceZip64: forceZip64))
            try file.commit { temporaryPath in try check(temporaryPath, against: arrays, path: path) }
        } catch let error as FileError {
            throw NPYError.writeFailed(path: path, reason: error.reason)
        }
    }

    /// numpy's `descr` for `dtype`; nil for bfloat16, which numpy lacks.
    static func descr(_ dtype: DType) -> String? {
        switch dtype {
        case .bool: "|b1"
        case .int8: "|i1"
        case .uint8: "|u1"
        case .int16: "<i2"
        case .uint16: "<u2"
        case .int32: "<i4"
        case .uint32: "<u4"
        case .int64: "<i8"
        case .uint64: "<u8"
        case .float16: "<f2"
        case .float32: "<f4"
        case .float64: "<f8"
        case .bfloat16: nil
        }
    }

    /// The NPY v1.0 preamble and header of `tensor`, padded so the data starts at a multiple of 64 bytes.
    public static func npyHeader(_ tensor: Tensor) -> [UInt8] {
        let shape =
            tensor.shape.count == 1
            ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr(tensor.dtype) ?? "")', 'fortran_order': False, 'shape': \(shape), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(dict.utf8.count)
        return NPYHeader.magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    private static let versionNeeded: UInt16 = 20
    private static let versionNeededZip64: UInt16 = 45
    /// 1980-01-01 00:00:00 in MS-DOS date format.
    private static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1

    private static func localHeader(_ name: [UInt8], crc: UInt32, size: UInt64, zip64: Bool) -> [UInt8] {
        var out = ByteWriter()
        out.u32(0x0403_4b50)
        out.u16(zip64 ? versionNeededZip64 : versionNeeded)
        out.u16(0)  // flags
        out.u16(0)  // method: stored
        out.u16(0)  // time
        out.u16(dosDate)
        out.u32(crc)
        out.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        out.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        out.u16(UInt16(name.count))
        out.u16(zip64 ? 20 : 0)
        out.bytes += name
        if zip64 {
            out.u16(0x0001)
            out.u16(16)
            out.u64(size)
            out.u64(size)
        }
        return out.bytes
    }

    private static func centralHeader(_ name: [UInt8], crc: UInt32, size: UInt64, offset: UInt64, zip64: Bool)
        -> [UInt8]
    {
        var out = ByteWriter()
        out.u32(0x0201_4b50)
        out.u16(zip64 ? versionNeededZip64 : versionNeeded)  // made by: MS-DOS attributes
        out.u16(zip64 ? versionNeededZip64 : versionNeeded)
        out.u16(0)
        out.u16(0)
        out.u16(0)
        out.u16(dosDate)
        out.u32(crc)
        out.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        out.u32(zip64 ? 0xFFFF_FFFF : UInt32(size))
        out.u16(UInt16(name.count))
        out.u16(zip64 ? 28 : 0)
        out.u16(0)  // comment
        out.u16(0)  // disk
        out.u16(0)  // internal attributes
        out.u32(0)  // external attributes
        out.u32(zip64 ? 0xFFFF_FFFF : UInt32(offset))
        out.bytes += name
        if zip64 {
            out.u16(0x0001)
            out.u16(24)
            out.u64(size)
            out.u64(size)
            out.u64(offset)
        }
        return out.bytes
    }

    private static func endRecords(count: UInt64, centralSize: UInt64, centralOffset: UInt64, forceZip64: Bool)
        -> [UInt8]
    {
        let zip64 = forceZip64 || count >= 0xFFFF || centralSize >= 0xFFFF_FFFF || centralOffset >= 0xFFFF_FFFF
        var out = ByteWriter()
        if zip64 {
            out.u32(0x0606_4b50)
            out.u64(44)  // size of the rest of this record
            out.u16(versionNeededZip64)
            out.u16(versionNeededZip64)
            out.u32(0)
            out.u32(0)
            out.u64(count)
            out.u64(count)
            out.u64(centralSize)
            out.u64(centralOffset)
            out.u32(0x0706_4b50)  // locator
            out.u32(0)
            out.u64(centralOffset + centralSize)
            out.u32(1)
        }
        out.u32(0x0605_4b50)
        out.u16(0)
        out.u16(0)
        out.u16(zip64 ? 0xFFFF : UInt16(count))
        out.u16(zip64 ? 0xFFFF : UInt16(count))
        out.u32(zip64 ? 0xFFFF_FFFF : UInt32(centralSize))
        out.u32(zip64 ? 0xFFFF_FFFF : UInt32(centralOffset))
        out.u16(0)
        return out.bytes
    }

    /// Re-reads the written archive and compares every member with what was meant to be written.
    private static func check(_ temporaryPath: String, against arrays: [(name: String, tensor: Tensor)], path: String)
        throws
    {
        do {
            let archive = try NPZArchive(path: temporaryPath)
            guard archive.names == arrays.map(\.name) else {
                throw NPYError.writeFailed(path: path, reason: "the written archive lists other members")
            }
            for (name, tensor) in arrays where try archive.tensor(named: name) != tensor {
                throw NPYError.writeFailed(path: path, reason: "member '\(name)' reads back differently")
            }
        } catch let error as NPYError {
            if case .writeFailed = error { throw error }
            throw NPYError.writeFailed(path: path, reason: "the written archive does not read back: \(error)")
        }
    }

}

/// Little-endian fields appended to a byte array.
private struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u16(_ value: UInt16) { bytes += [UInt8(value & 0xFF), UInt8(value >> 8)] }
    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) }
    }
    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8((value >> UInt64(shift)) & 0xFF)) }
    }
}
