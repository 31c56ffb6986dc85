import TensorCore

/// The `.index` file of a tensor bundle: a LevelDB-format table mapping tensor names to `BundleEntryProto`s.
///
/// Layout: data blocks, a metaindex block, an index block whose values are handles of the data blocks, and a 48-byte
/// footer (two block handles as varints, zero padding, the magic number). Each block is followed by a 5-byte trailer:
/// a compression type and a masked CRC-32C over the block and that type byte. Inside a block, keys are
/// prefix-compressed (`shared`, `non_shared`, `value_length` varints, then the key's unshared tail and the value),
/// and a restart array at its end lists the entries stored with their whole key.
struct CheckpointIndex {
    static let magic: UInt64 = 0xdb47_7524_8b80_fb57
    static let footerSize = 48
    static let trailerSize = 5
    /// No block of a real index decompresses beyond this; a claim above it is corruption.
    static let maxBlockSize = 1 << 30

    let path: String
    let bytes: [UInt8]

    private struct HandleOverflow: Error {}

    struct BlockHandle: Equatable {
        var offset: Int
        var size: Int
    }

    /// Every key/value pair of every data block, in key order; checks each block's checksum and that keys ascend.
    func entries() throws -> [(key: [UInt8], value: ArraySlice<UInt8>)] {
        let (metaindexHandle, indexHandle) = try footer()
        // The metaindex is empty in a bundle (no filter blocks), but a damaged one still means a damaged file.
        _ = try Self.parseBlock(try block(at: metaindexHandle), path: path, what: "metaindex block")
        let indexBlock = try block(at: indexHandle)
        var result: [(key: [UInt8], value: ArraySlice<UInt8>)] = []
        var previousHandle: BlockHandle?
        for (_, handleBytes) in try Self.parseBlock(indexBlock, path: path, what: "index block") {
            var reader = ByteReader(handleBytes)
            let handle: BlockHandle
            do {
                handle = try Self.readHandle(&reader)
            } catch {
                throw CheckpointError.malformedTable(path: path, reason: "a data block handle is corrupt")
            }
            if let previousHandle, handle.offset < previousHandle.offset + previousHandle.size {
                throw CheckpointError.malformedTable(
                    path: path, reason: "data block handles overlap or go backwards (offset \(handle.offset))")
            }
            previousHandle = handle
            let data = try block(at: handle)
            for (key, value) in try Self.parseBlock(data, path: path, what: "data block at offset \(handle.offset)") {
                if let last = result.last?.key, !last.lexicographicallyPrecedes(key) {
                    throw CheckpointError.malformedTable(
                        path: path,
                        reason: "keys are not in ascending order at the data block at offset \(handle.offset)")
                }
                result.append((key, value))
            }
        }
        return result
    }

    /// The metaindex and index block handles, after checking the magic number.
    func footer() throws -> (metaindex: BlockHandle, index: BlockHandle) {
        guard bytes.count >= Self.footerSize else {
            throw CheckpointError.malformedTable(
                path: path, reason: "\(bytes.count) bytes, shorter than the \(Self.footerSize)-byte footer")
        }
        var reader = ByteReader(bytes[(bytes.count - Self.footerSize)...])
        do {
            try reader.seek(to: Self.footerSize - 8)
            let magic = try reader.readLittleEndian(UInt64.self)
            guard magic == Self.magic else {
                throw CheckpointError.malformedTable(
                    path: path,
                    reason: "bad magic number 0x\(String(magic, radix: 16)) in the footer (expected 0xdb4775248b80fb57)"
                )
            }
            try reader.seek(to: 0)
            let metaindex = try Self.readHandle(&reader)
            let index = try Self.readHandle(&reader)
            guard reader.offset <= Self.footerSize - 8 else {
                throw CheckpointError.malformedTable(path: path, reason: "the footer's block handles overrun the magic")
            }
            return (metaindex, index)
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.malformedTable(path: path, reason: "the footer's block handles are corrupt")
        }
    }

    static func readHandle(_ reader: inout ByteReader) throws -> BlockHandle {
        let offset = try reader.readVarint()
        let size = try reader.readVarint()
        guard offset <= UInt64(Int.max / 2), size <= UInt64(Int.max / 2) else {
            throw HandleOverflow()
        }
        return BlockHandle(offset: Int(offset), size: Int(size))
    }

    /// The contents of the block at `handle`, checksum-verified and decompressed.
    func block(at handle: BlockHandle) throws -> ArraySlice<UInt8> {
        let limit = bytes.count - Self.footerSize
        guard handle.offset <= limit, handle.size <= limit - handle.offset,
            Self.trailerSize <= limit - handle.offset - handle.size
        else {
            throw CheckpointError.malformedTable(
                path: path,
                reason: "block handle (offset \(handle.offset), size \(handle.size)) points outside the file")
        }
        let contents = bytes[handle.offset..<(handle.offset + handle.size)]
        let type = bytes[handle.offset + handle.size]
        var trailer = ByteReader(bytes[(handle.offset + handle.size + 1)..<(handle.offset + handle.size + 5)])
        let stored = CRC32C.unmask((try? trailer.readLittleEndian(UInt32.self)) ?? 0)
        let computed = CRC32C.update(CRC32C.checksum(contents), with: CollectionOfOne(type))
        guard stored == computed else {
            throw CheckpointError.blockChecksumMismatch(
                path: path, blockOffset: handle.offset, stored: stored, computed: computed)
        }
        switch type {
        case 0:
            return contents
        case 1:
            do {
                return try Snappy.decompress(contents, limit: Self.maxBlockSize)[...]
            } catch let error as Snappy.Malformed {
                throw CheckpointError.malformedTable(
                    path: path,
                    reason: "the Snappy-compressed block at offset \(handle.offset) is corrupt: \(error.reason)")
            }
        default:
            throw CheckpointError.unsupportedCompression(path: path, blockOffset: handle.offset, type: type)
        }
    }

    /// The key/value pairs of one block, with prefix-compressed keys expanded and restart points checked.
    static func parseBlock(_ block: ArraySlice<UInt8>, path: String, what: String) throws
        -> [(key: [UInt8], value: ArraySlice<UInt8>)]
    {
        func fail(_ reason: String) -> CheckpointError {
            CheckpointError.malformedTable(path: path, reason: "\(what): \(reason)")
        }
        guard block.count >= 4 else { throw fail("\(block.count) bytes, too short for a restart count") }
        var reader = ByteReader(block)
        let restartCount: Int
        do {
            try reader.seek(to: block.count - 4)
            restartCount = Int(try reader.readLittleEndian(UInt32.self))
        } catch {
            throw fail("no restart count")
        }
        guard restartCount >= 1, restartCount <= (block.count - 4) / 4 else {
            throw fail("\(restartCount) restart points do not fit in \(block.count) bytes")
        }
        let restartsStart = block.count - 4 - 4 * restartCount
        var restarts: [Int] = []
        do {
            try reader.seek(to: restartsStart)
            for _ in 0..<restartCount { restarts.append(Int(try reader.readLittleEndian(UInt32.self))) }
            try reader.seek(to: 0)
        } catch {
            throw fail("the restart array is truncated")
        }
        var entries: [(key: [UInt8], value: ArraySlice<UInt8>)] = []
        var entryStarts: [Int: Int] = [:]  // offset → shared prefix length
        var key: [UInt8] = []
        do {
            while reader.offset < restartsStart {
                let start = reader.offset
                let shared = try reader.readVarint()
                let unshared = try reader.readVarint()
                let valueLength = try reader.readVarint()
                guard shared <= UInt64(key.count) else {
                    throw fail("an entry at offset \(start) shares \(shared) bytes with a \(key.count)-byte key")
                }
                guard unshared <= UInt64(restartsStart - reader.offset),
                    valueLength <= UInt64(restartsStart - reader.offset) - unshared
                else {
                    throw fail("the entry at offset \(start) runs past the block's entries")
                }
                key.removeSubrange(Int(shared)...)
                key.append(contentsOf: try reader.readBytes(Int(unshared)))
                entries.append((key, try reader.readBytes(Int(valueLength))))
                entryStarts[start] = Int(shared)
            }
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw fail("an entry is truncated (\(error))")
        }
        for restart in restarts where !entries.isEmpty && entryStarts[restart] != 0 {
            throw fail("restart point \(restart) is not the start of an entry with a whole key")
        }
        return entries
    }
}
