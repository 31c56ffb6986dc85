import Foundation

/// Builders for malformed inputs, made from the good bytes of numpy-written fixtures.

/// A v1.0 NPY file split into its header dict text and payload.
func npyParts(_ bytes: [UInt8]) -> (header: String, payload: [UInt8]) {
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
    return (header.trimmingCharacters(in: .whitespacesAndNewlines), Array(bytes[(10 + headerLength)...]))
}

/// An NPY file with `header` padded as numpy pads it (spaces and a newline to a 64-byte boundary).
func makeNPY(header: String, payload: [UInt8], major: UInt8 = 1) -> [UInt8] {
    let preamble = major == 1 ? 10 : 12
    var text = Array(header.utf8)
    let padding = (64 - (preamble + text.count + 1) % 64) % 64
    text += [UInt8](repeating: UInt8(ascii: " "), count: padding) + [UInt8(ascii: "\n")]
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
    if major == 1 {
        bytes += [UInt8(text.count & 0xff), UInt8(text.count >> 8)]
    } else {
        bytes += littleEndian(UInt32(text.count))
    }
    return bytes + text + payload
}

/// `bytes` (a v1.0 NPY file) with `old` replaced by `new` in its header dict.
func replacingHeaderText(of bytes: [UInt8], _ old: String, with new: String) throws -> [UInt8] {
    let (header, payload) = npyParts(bytes)
    guard header.contains(old) else { throw BuilderError(message: "'\(old)' not in header \(header)") }
    return makeNPY(header: header.replacingOccurrences(of: old, with: new), payload: payload)
}

struct BuilderError: Error {
    var message: String
}

func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<MemoryLayout<T>.size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}

/// CRC-32 (IEEE, reflected), computed independently of zlib so tests do not trust the code under test.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// A raw deflate stream of stored blocks (RFC 1951 §3.2.4): valid deflate without a compressor.
func deflateStoredBlocks(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var start = 0
    repeat {
        let count = min(0xFFFF, bytes.count - start)
        let final: UInt8 = start + count == bytes.count ? 1 : 0
        out.append(final)  // BFINAL, BTYPE = 00
        out += littleEndian(UInt16(count)) + littleEndian(~UInt16(count))
        out += bytes[start..<(start + count)]
        start += count
    } while start < bytes.count
    return out
}

/// One member of a hand-assembled zip archive; every field can be made to lie.
struct ZipMember {
    var name: String
    /// Exactly the bytes placed after the local header.
    var data: [UInt8]
    var method: UInt16
    var crc: UInt32
    var uncompressedSize: Int
    var flags: UInt16 = 0
    var localName: String? = nil
    var localMethod: UInt16? = nil
    var compressedSize: Int? = nil

    static func stored(_ name: String, _ content: [UInt8]) -> ZipMember {
        ZipMember(name: name, data: content, method: 0, crc: crc32(content), uncompressedSize: content.count)
    }

    /// `content` as deflate stored blocks, with `stream` applied to the encoded stream (to corrupt it).
    static func deflated(
        _ name: String, _ content: [UInt8], stream: ([UInt8]) -> [UInt8] = { $0 }
    ) -> ZipMember {
        ZipMember(
            name: name, data: stream(deflateStoredBlocks(content)), method: 8, crc: crc32(content),
            uncompressedSize: content.count)
    }
}

/// A zip archive of `members` with a central directory and end record; `diskNumber` makes it "multi-disk".
func makeZip(_ members: [ZipMember], diskNumber: UInt16 = 0, comment: [UInt8] = []) -> [UInt8] {
    var bytes: [UInt8] = []
    var central: [UInt8] = []
    for member in members {
        let offset = bytes.count
        let name = Array(member.name.utf8)
        let localName = Array((member.localName ?? member.name).utf8)
        let compressedSize = UInt32(member.compressedSize ?? member.data.count)
        bytes += littleEndian(UInt32(0x0403_4b50)) + littleEndian(UInt16(20)) + littleEndian(member.flags)
        bytes += littleEndian(member.localMethod ?? member.method) + littleEndian(UInt32(0))
        bytes += littleEndian(member.crc) + littleEndian(compressedSize) + littleEndian(UInt32(member.uncompressedSize))
        bytes += littleEndian(UInt16(localName.count)) + littleEndian(UInt16(0)) + localName + member.data

        central += littleEndian(UInt32(0x0201_4b50)) + littleEndian(UInt16(20)) + littleEndian(UInt16(20))
        central += littleEndian(member.flags) + littleEndian(member.method) + littleEndian(UInt32(0))
        central +=
            littleEndian(member.crc) + littleEndian(compressedSize) + littleEndian(UInt32(member.uncompressedSize))
        central += littleEndian(UInt16(name.count)) + [UInt8](repeating: 0, count: 12)
        central += littleEndian(UInt32(offset)) + name
    }
    let directoryOffset = bytes.count
    bytes += central
    bytes += littleEndian(UInt32(0x0605_4b50)) + littleEndian(diskNumber) + littleEndian(UInt16(0))
    bytes += littleEndian(UInt16(members.count)) + littleEndian(UInt16(members.count))
    bytes += littleEndian(UInt32(central.count)) + littleEndian(UInt32(directoryOffset))
    bytes += littleEndian(UInt16(comment.count)) + comment
    return bytes
}
