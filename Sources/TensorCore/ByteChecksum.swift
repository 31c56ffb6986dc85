/// A fast 64-bit checksum of a byte stream, the same however the stream is split: FNV-1a over 8-byte words in four
/// interleaved lanes (words 0, 4, 8… in the first, 1, 5, 9… in the second, …), so four multiplies are in flight at a
/// time. Each step is a bijection of its lane, so a change to any one word always changes the result. For comparing
/// bytes with a copy of them (a written file read back against what was written), not for defending against chosen
/// collisions.
public struct ByteChecksum: Sendable {
    private var lanes: (UInt64, UInt64, UInt64, UInt64) = (
        0xcbf2_9ce4_8422_2325, 0x8422_2325_cbf2_9ce4, 0x9ce4_8422_2325_cbf2, 0x2325_cbf2_9ce4_8422
    )
    private var length: UInt64 = 0
    /// Bytes of an unfinished 32-byte group (fewer than 32).
    private var carry: [UInt8] = []
    private static let prime: UInt64 = 0x0000_0100_0000_01b3
    private static let group = 32

    public init() {}

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ raw: UnsafeRawBufferPointer) {
        length &+= UInt64(raw.count)
        var start = 0
        if !carry.isEmpty {
            start = min(Self.group - carry.count, raw.count)
            carry += raw[0..<start]
            guard carry.count == Self.group else { return }
            carry.withUnsafeBytes { mix($0, groups: 1) }
            carry = []
        }
        let groups = (raw.count - start) / Self.group
        if groups > 0 { mix(UnsafeRawBufferPointer(rebasing: raw[start...]), groups: groups) }
        let rest = start + groups * Self.group
        if rest < raw.count { carry = Array(raw[rest...]) }
    }

    private mutating func mix(_ raw: UnsafeRawBufferPointer, groups: Int) {
        var (a, b, c, d) = lanes
        let prime = Self.prime
        for i in 0..<groups {
            let offset = i * Self.group
            a = (a ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* prime
            b = (b ^ raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)) &* prime
            c = (c ^ raw.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)) &* prime
            d = (d ^ raw.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)) &* prime
        }
        lanes = (a, b, c, d)
    }

    /// The checksum of every byte so far (the stream's length included).
    public var value: UInt64 {
        var result = length
        for byte in carry { result = (result ^ UInt64(byte)) &* Self.prime }
        for lane in [lanes.0, lanes.1, lanes.2, lanes.3] { result = (result ^ lane) &* Self.prime }
        return result
    }
}
