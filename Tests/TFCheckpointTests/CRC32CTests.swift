import Testing

@testable import TFCheckpoint

@Suite struct CRC32CTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var crc: UInt32
        var testDescription: String { name }
    }

    /// The check value and RFC 3720 (iSCSI) appendix B.4 vectors.
    static let vectors = [
        Vector(name: "empty", bytes: [], crc: 0),
        Vector(name: "123456789", bytes: Array("123456789".utf8), crc: 0xe306_9283),
        Vector(name: "32 zeros", bytes: [UInt8](repeating: 0, count: 32), crc: 0x8a91_36aa),
        Vector(name: "32 x 0xff", bytes: [UInt8](repeating: 0xff, count: 32), crc: 0x62a8_ab43),
        Vector(name: "0 to 31", bytes: (0..<32).map(UInt8.init), crc: 0x46dd_794e),
        Vector(name: "31 to 0", bytes: (0..<32).reversed().map(UInt8.init), crc: 0x113f_db5c),
        Vector(name: "a", bytes: [0x61], crc: 0xc1d0_4330),
    ]

    @Test(arguments: vectors)
    func knownVectors(_ vector: Vector) {
        #expect(CRC32C.checksum(vector.bytes) == vector.crc)
    }

    /// Slicing-by-8 agrees with the bit-at-a-time definition at every length and alignment.
    @Test func agreesWithBitwiseDefinition() {
        func bitwise(_ bytes: ArraySlice<UInt8>) -> UInt32 {
            var crc: UInt32 = 0xffff_ffff
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82f6_3b78 : crc >> 1 }
            }
            return ~crc
        }
        let bytes = (0..<100).map { UInt8(($0 * 37 + 11) & 0xff) }
        for start in 0..<9 {
            for end in start...bytes.count {
                #expect(CRC32C.checksum(bytes[start..<end]) == bitwise(bytes[start..<end]))
            }
        }
        #expect(CRC32C.update(CRC32C.checksum(bytes[..<40]), with: bytes[40...]) == CRC32C.checksum(bytes))
    }

    @Test func maskRoundTrips() {
        for crc: UInt32 in [0, 1, 0xe306_9283, 0xffff_ffff, 0x8000_0000] {
            #expect(CRC32C.unmask(CRC32C.mask(crc)) == crc)
            #expect(CRC32C.mask(crc) != crc)
        }
        // LevelDB's definition: rotate right by 15 bits, then add 0xa282ead8.
        #expect(CRC32C.mask(0) == 0xa282_ead8)
        #expect(CRC32C.mask(0x0000_8000) == 0xa282_ead9)
    }
}

@Suite struct SnappyTests {
    @Test func literalsAndCopies() throws {
        // "abcd" literal, then a 1-byte-offset copy of 8 bytes from 4 back (overlapping: repeats "abcd"), then a
        // 2-byte-offset copy of 3 bytes from 12 back.
        let input: [UInt8] = [15, 3 << 2, 0x61, 0x62, 0x63, 0x64, 0b000_100_01, 4, 2 << 2 | 2, 12, 0]
        let output = try Snappy.decompress(input[...], limit: 100)
        #expect(String(decoding: output, as: UTF8.self) == "abcdabcdabcdabc")
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var testDescription: String { name }
    }

    @Test(arguments: [
        Bad(name: "copy before any output", bytes: [4, 0b000_000_01, 1]),
        Bad(name: "literal past the input", bytes: [4, 3 << 2, 0x61]),
        Bad(name: "more output than declared", bytes: [1, 1 << 2, 0x61, 0x62]),
        Bad(name: "less output than declared", bytes: [5, 0 << 2, 0x61]),
        Bad(name: "claims too much", bytes: [0xff, 0xff, 0xff, 0x7f]),
        Bad(name: "empty", bytes: []),
    ])
    func malformed(_ bad: Bad) {
        #expect(throws: Snappy.Malformed.self) { try Snappy.decompress(bad.bytes[...], limit: 1000) }
    }
}
