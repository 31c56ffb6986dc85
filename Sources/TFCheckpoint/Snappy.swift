/// A decoder for Snappy's raw block format (the compression LevelDB tables may use per block).
///
/// Format: a varint uncompressed length, then elements tagged by their low two bits: 0 a literal, 1 a copy with
/// an 11-bit offset, 2 a copy with a 16-bit offset, 3 a copy with a 32-bit offset.
enum Snappy {
    struct Malformed: Error, Equatable {
        var reason: String
    }

    /// Decompresses `input`; `limit` caps the uncompressed size the input may claim.
    static func decompress(_ input: ArraySlice<UInt8>, limit: Int) throws -> [UInt8] {
        var position = input.startIndex
        func byte() throws -> Int {
            guard position < input.endIndex else { throw Malformed(reason: "input ends inside an element") }
            defer { position += 1 }
            return Int(input[position])
        }
        func littleEndian(_ width: Int) throws -> Int {
            var value = 0
            for shift in 0..<width { value |= try byte() << (8 * shift) }
            return value
        }
        var expected = 0
        var shift = 0
        while true {
            let next = try byte()
            guard shift <= 28 else { throw Malformed(reason: "length varint is too long") }
            expected |= (next & 0x7f) << shift
            if next & 0x80 == 0 { break }
            shift += 7
        }
        guard expected <= limit else {
            throw Malformed(reason: "claims \(expected) uncompressed bytes, more than the \(limit) allowed")
        }
        var output: [UInt8] = []
        output.reserveCapacity(expected)
        while position < input.endIndex {
            let tag = try byte()
            switch tag & 3 {
            case 0:
                var length = tag >> 2
                if length >= 60 { length = try littleEndian(length - 59) }
                length += 1
                guard length <= input.endIndex - position else {
                    throw Malformed(reason: "a literal of \(length) bytes runs past the input")
                }
                guard output.count + length <= expected else {
                    throw Malformed(reason: "output exceeds the declared \(expected) bytes")
                }
                output.append(contentsOf: input[position..<(position + length)])
                position += length
            default:
                let length: Int
                let offset: Int
                switch tag & 3 {
                case 1:
                    length = ((tag >> 2) & 7) + 4
                    offset = ((tag >> 5) << 8) | (try byte())
                case 2:
                    length = (tag >> 2) + 1
                    offset = try littleEndian(2)
                default:
                    length = (tag >> 2) + 1
                    offset = try littleEndian(4)
                }
                guard offset > 0, offset <= output.count else {
                    throw Malformed(reason: "a copy refers \(offset) bytes back, \(output.count) written so far")
                }
                guard output.count + length <= expected else {
                    throw Malformed(reason: "output exceeds the declared \(expected) bytes")
                }
                // Byte by byte: a copy may overlap its own output (offset < length repeats a pattern).
                let start = output.count - offset
                for i in 0..<length { output.append(output[start + i]) }
            }
        }
        guard output.count == expected else {
            throw Malformed(reason: "decompressed to \(output.count) bytes, \(expected) declared")
        }
        return output
    }
}
