/// Reading past the end of a buffer: the buffer is shorter than its own contents claim.
public struct TruncatedData: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var needed: Int
    public var available: Int
    public var description: String {
        "truncated: needed \(needed) bytes at offset \(offset), \(available) available"
    }
}

/// A bounds-checked little/big-endian cursor over bytes.
///
/// Every read checks the remaining length first and throws `TruncatedData`; nothing traps on a short file.
public struct ByteReader: Sendable {
    public let bytes: ArraySlice<UInt8>
    /// Offset from the start of `bytes` (0-based, independent of the slice's indices).
    public private(set) var offset: Int = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes[...] }
    public init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    public var count: Int { bytes.count }
    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    public mutating func seek(to newOffset: Int) throws {
        guard newOffset >= 0, newOffset <= bytes.count else {
            throw TruncatedData(offset: newOffset, needed: 0, available: bytes.count)
        }
        offset = newOffset
    }

    public mutating func skip(_ n: Int) throws {
        try require(n)
        offset += n
    }

    /// Throws unless `n` more bytes are available.
    public func require(_ n: Int) throws {
        guard n >= 0, n <= remaining else {
            throw TruncatedData(offset: offset, needed: n, available: max(remaining, 0))
        }
    }

    public mutating func readBytes(_ n: Int) throws -> ArraySlice<UInt8> {
        try require(n)
        let start = bytes.startIndex + offset
        offset += n
        return bytes[start..<(start + n)]
    }

    public mutating func readUInt8() throws -> UInt8 {
        try require(1)
        defer { offset += 1 }
        return bytes[bytes.startIndex + offset]
    }

    public mutating func readLittleEndian<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        let value: T = try peek(at: offset)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    public mutating func readBigEndian<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        let value: T = try peek(at: offset)
        offset += MemoryLayout<T>.size
        return T(bigEndian: value)
    }

    /// The raw (unswapped) value stored at `position`.
    private func peek<T: FixedWidthInteger>(at position: Int) throws -> T {
        try require(MemoryLayout<T>.size)
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: position, as: T.self) }
    }

    /// A little-endian unsigned LEB128 varint (protobuf, LevelDB), at most 64 bits.
    public mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readUInt8()
            if shift == 63 && byte > 1 { throw VarintOverflow(offset: offset - 1) }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw VarintOverflow(offset: offset - 1) }
        }
    }
}

/// A varint longer than 64 bits.
public struct VarintOverflow: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var description: String { "varint overflows 64 bits at offset \(offset)" }
}
