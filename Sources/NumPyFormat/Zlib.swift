import CZlib

/// CRC-32 as zip records it.
enum CRC32 {
    /// The CRC-32 of `bytes`, computed by zlib's `crc32_z`.
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        checksum(bytes, continuing: 0)
    }

    /// The CRC-32 of the bytes already checksummed to `crc` followed by `bytes`.
    static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32) -> UInt32 {
        UInt32(
            truncatingIfNeeded: crc32_z(UInt(crc), bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// The CRC-32 of the bytes already checksummed to `crc` followed by `bytes`.
    static func checksum(_ bytes: ArraySlice<UInt8>, continuing crc: UInt32) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            UInt32(truncatingIfNeeded: crc32_z(UInt(crc), buffer.baseAddress, buffer.count))
        }
    }
}

/// Why a raw deflate stream could not be inflated.
struct InflateFailure: Error, Equatable {
    var message: String
}

/// A zlib `z_stream` set up to inflate raw deflate, and its one owner: `init` calls zlib's `inflateInit2` (through
/// `tfp_inflateInit2`, windowBits -15: no zlib or gzip wrapper, as in zip), `deinit` calls `inflateEnd`. The
/// `z_stream` lives at a fixed heap address because zlib keeps a pointer back to it.
final class RawInflateState {
    let stream: UnsafeMutablePointer<z_stream>

    init() throws(InflateFailure) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = tfp_inflateInit2(stream, -15)
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw InflateFailure(message: "zlib inflateInit2 failed with status \(status)")
        }
        self.stream = stream
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }
}

/// One raw deflate stream being inflated whole, its zlib state in a `RawInflateState`; wraps zlib's `inflate`.
final class RawInflater {
    private let state: RawInflateState
    private var stream: UnsafeMutablePointer<z_stream> { state.stream }
    private let input: UnsafeMutableBufferPointer<UInt8>
    /// How much of `input` has been handed to zlib.
    private var inputFed = 0
    /// Everything inflated so far.
    private(set) var output: [UInt8] = []
    /// True once zlib has reported the end of the deflate stream.
    private(set) var isFinished = false

    /// Output is produced in pieces of this size, so memory grows only with what the stream really yields.
    private static let chunkSize = 64 * 1024

    /// Starts inflating a copy of `compressed`; calls zlib's `inflateInit2`.
    init(compressed: ArraySlice<UInt8>) throws(InflateFailure) {
        state = try RawInflateState()
        input = .allocate(capacity: compressed.count)
        _ = input.initialize(from: compressed)
    }

    deinit { input.deallocate() }

    /// Compressed bytes zlib has not consumed; after the end of the stream, these follow it.
    var unconsumedInputCount: Int { Int(stream.pointee.avail_in) + (input.count - inputFed) }

    /// Inflates until `output` holds at least `limit` bytes or the stream ends, never producing more than `limit`.
    ///
    /// Calls zlib's `inflate`.
    /// - Throws: `InflateFailure` on corrupt data, or when the compressed bytes end before the stream does.
    func inflate(upTo limit: Int) throws(InflateFailure) {
        var chunk = [UInt8](repeating: 0, count: Self.chunkSize)
        while !isFinished && output.count < limit {
            if stream.pointee.avail_in == 0 && inputFed < input.count {
                let piece = min(input.count - inputFed, Int(UInt32.max))
                stream.pointee.next_in = input.baseAddress.map { $0 + inputFed }
                stream.pointee.avail_in = UInt32(piece)
                inputFed += piece
            }
            let room = min(Self.chunkSize, limit - output.count)
            let (status, produced) = chunk.withUnsafeMutableBufferPointer { buffer in
                stream.pointee.next_out = buffer.baseAddress
                stream.pointee.avail_out = UInt32(room)
                let status = CZlib.inflate(stream, Z_NO_FLUSH)
                return (status, room - Int(stream.pointee.avail_out))
            }
            output.append(contentsOf: chunk[0..<produced])
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                isFinished = true
            case Z_BUF_ERROR where unconsumedInputCount == 0:
                throw InflateFailure(message: "the compressed data ends before the deflate stream does")
            case Z_BUF_ERROR:
                continue
            case Z_DATA_ERROR:
                let detail = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
                throw InflateFailure(message: detail)
            case Z_MEM_ERROR:
                throw InflateFailure(message: "zlib ran out of memory")
            default:
                throw InflateFailure(message: "zlib inflate failed with status \(status)")
            }
        }
    }
}

/// One raw deflate stream inflated piece by piece: compressed bytes are fed as they are read, and what they inflate
/// to is handed on in blocks of at most `blockSize` bytes, so a member of any size is inflated in the memory of one
/// input block and one output block.
///
/// Its zlib state is a `RawInflateState`; wraps zlib's `inflate`.
final class InflateStream {
    private let state: RawInflateState
    private var stream: UnsafeMutablePointer<z_stream> { state.stream }
    private let output: UnsafeMutableRawBufferPointer
    /// True once zlib has reported the end of the deflate stream.
    private(set) var isFinished = false

    init(blockSize: Int = 1 << 20) throws(InflateFailure) {
        state = try RawInflateState()
        output = .allocate(byteCount: blockSize, alignment: 16)
    }

    deinit { output.deallocate() }

    /// Inflates all of `input` (or up to the end of the stream), calling `sink` with each block produced; `sink` may
    /// throw to stop (a member that inflates to more than it should). Returns how many bytes of `input` follow the
    /// end of the stream (0 while it goes on).
    /// - Throws: `InflateFailure` on corrupt data, or what `sink` throws.
    func feed(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        guard !isFinished else { return input.count }
        var consumed = 0
        repeat {
            let piece = min(input.count - consumed, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self).advanced(by: consumed))
            stream.pointee.avail_in = UInt32(piece)
            stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
            stream.pointee.avail_out = UInt32(output.count)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            consumed += piece - Int(stream.pointee.avail_in)
            let produced = output.count - Int(stream.pointee.avail_out)
            if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: output[0..<produced])) }
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                isFinished = true
                return input.count - consumed
            case Z_BUF_ERROR:
                // No progress possible: all input consumed (more is needed) with the output block drained.
                guard consumed == input.count else {
                    throw InflateFailure(message: "zlib inflate made no progress")
                }
                return 0
            case Z_DATA_ERROR, Z_NEED_DICT:
                throw InflateFailure(message: stream.pointee.msg.map { String(cString: $0) } ?? "invalid data")
            case Z_MEM_ERROR:
                throw InflateFailure(message: "zlib ran out of memory")
            default:
                throw InflateFailure(message: "zlib inflate failed with status \(status)")
            }
        } while consumed < input.count || stream.pointee.avail_out == 0
        return 0
    }
}
