import HDF5Kit
import TensorCore

#if canImport(Glibc)
    import Glibc
#endif

/// Why the pure-Swift reader handed a file back to libhdf5: a structure it does not read (a newer superblock, a
/// chunked dataset, dense attributes…) or one it found malformed. Either way the isolation child and libhdf5 read the
/// file as before, so this is never shown to a user; it says what was met and where, for tests and `__catalog-hdf5`.
public struct HDF5Unsupported: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    /// The absolute file offset of the structure, when there is one.
    public var offset: Int?

    public var description: String { offset.map { "\(reason) (at byte \($0))" } ?? reason }
}

/// The `HDF5Catalog` of a file, read in-process by a pure-Swift reader of the HDF5 metadata h5py and Keras write,
/// without libhdf5 and without the isolation child.
///
/// Reads superblock versions 0 and 1 (8-byte offsets and lengths), version 1 object headers with their continuation
/// blocks, groups held in symbol tables (v1 B-tree, local heap, symbol table nodes), dataspaces, IEEE float and
/// integer element types, fixed-length strings and variable-length strings (global heap), contiguous data layout,
/// and the attributes stored in object headers. It builds exactly what `HDF5Isolation.exercise` builds through
/// libhdf5, or refuses: anything else it meets (v2 object headers, link messages, soft links, shared or dense
/// messages, chunked, compact or filtered data, any type `HDF5File.describe` would not copy as it is) and anything
/// inconsistent makes the whole file `HDF5Unsupported`, and the libhdf5 path runs instead.
///
/// The file is untrusted: every number goes through checked arithmetic, every structure is bounds-checked against the
/// file's size and end-of-address, every count against the bytes that could hold it, every address is visited at most
/// once (a loop of groups or continuation blocks is refused, not followed), and the work is bounded. It reads with
/// `pread` through a small block cache (a truncated file reads short, it cannot fault).
public enum HDF5MetadataReader {
    /// The catalog of the file at `path`, or why it was not read.
    public static func catalog(path: String) -> Result<HDF5Catalog, HDF5Unsupported> {
        guard case .success(let opened) = FileIO.openRegularFile(path) else {
            return .failure(HDF5Unsupported(reason: "cannot be opened"))
        }
        defer { close(opened.descriptor) }
        do {
            var walk = try MetadataWalk(file: CachedFile(descriptor: opened.descriptor, size: opened.size))
            return .success(try walk.build())
        } catch let unsupported as HDF5Unsupported {
            return .failure(unsupported)
        } catch {
            return .failure(HDF5Unsupported(reason: "\(error)"))
        }
    }
}

/// A file read with `pread` in aligned blocks, kept while the walk lasts (metadata is small and scattered: h5py
/// writes each object header beside its data).
private final class CachedFile {
    let descriptor: Int32
    let size: Int
    private static let blockSize = 4096
    /// Blocks read at a time when one is missing: neighbouring metadata is usually read next.
    private static let blocksPerRead = 4
    /// Beyond this many cached blocks (16 MiB) the cache starts over.
    private static let maximumBlocks = 4096
    private var blocks: [Int: [UInt8]] = [:]

    init(descriptor: Int32, size: Int) {
        self.descriptor = descriptor
        self.size = size
    }

    /// `count` bytes at absolute `offset`, which must lie inside the file.
    func read(_ offset: Int, _ count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw HDF5Unsupported(reason: "\(count) bytes past the end of the \(size)-byte file", offset: offset)
        }
        guard count > 0 else { return [] }
        if count > 16 * Self.blockSize { return try direct(offset, count) }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var position = offset
        let end = offset + count
        while position < end {
            let index = position / Self.blockSize
            let block = try self.block(index)
            let start = position - index * Self.blockSize
            let take = min(block.count - start, end - position)
            guard take > 0 else { throw HDF5Unsupported(reason: "the file ended while read", offset: position) }
            out += block[start..<(start + take)]
            position += take
        }
        return out
    }

    private func block(_ index: Int) throws -> [UInt8] {
        if let block = blocks[index] { return block }
        if blocks.count >= Self.maximumBlocks { blocks.removeAll(keepingCapacity: true) }
        let start = index * Self.blockSize
        let bytes = try direct(start, min(Self.blockSize * Self.blocksPerRead, size - start))
        var first: [UInt8] = []
        for part in stride(from: 0, to: bytes.count, by: Self.blockSize) {
            let block = Array(bytes[part..<min(part + Self.blockSize, bytes.count)])
            if part == 0 { first = block }
            if blocks[index + part / Self.blockSize] == nil { blocks[index + part / Self.blockSize] = block }
        }
        return first
    }

    private func direct(_ offset: Int, _ count: Int) throws -> [UInt8] {
        switch FileIO.read(descriptor, count: count, at: offset) {
        case .success(let bytes): return bytes
        case .failure(let failure): throw HDF5Unsupported(reason: "read failed: \(failure.description)", offset: offset)
        }
    }
}

/// One object header message.
private struct Message {
    var type: UInt16
    var flags: UInt8
    var data: [UInt8]
    /// Absolute offset of the data, for messages.
    var offset: Int
}

/// What an element type is, for the kinds the reader accepts.
private enum Element {
    /// A number whose bytes are the tensor's as they are (`H5Tequal` with the little-endian standard type).
    case number(DType)
    case fixedString(size: Int, spacePadded: Bool)
    case variableString

    /// Bytes one element takes in an attribute's data (a variable-length string: length, heap address, index).
    var storedSize: Int {
        switch self {
        case .number(let dtype): dtype.byteSize
        case .fixedString(let size, _): size
        case .variableString: 16
        }
    }
}

private enum Space {
    case scalar
    case simple([Int])
    case null

    /// The elements it holds (`H5Sget_simple_extent_npoints`), nil on overflow.
    var points: Int? {
        switch self {
        case .scalar: 1
        case .null: 0
        case .simple(let dimensions): Shape.elementCount(dimensions)
        }
    }
}

/// The walk from the superblock through every group, building the catalog as `HDF5Isolation.exercise` does.
private struct MetadataWalk {
    let file: CachedFile
    /// Where addresses count from (the superblock's place: after a user block).
    var base = 0
    /// The absolute end of the addresses the file claims; nothing read may lie past it.
    var end = 0
    var leafK = 0
    var internalK = 0
    var rootHeader = 0
    var catalog: HDF5Catalog
    /// Object header and continuation chunk addresses read so far: each is read once (a loop is refused).
    var visitedChunks: Set<Int> = []
    var visitedGroups: Set<Int> = []
    var visitedNodes: Set<Int> = []
    /// Datasets by object header address: a dataset linked twice is described once.
    var datasets: [Int: HDF5Catalog.Dataset] = [:]
    /// Global heap collections read: object index → (absolute offset, size).
    var heaps: [Int: [UInt16: (offset: Int, size: Int)]] = [:]
    /// Bounds on work and on what the catalog may hold, as the parent bounds a child's catalog.
    var steps = 0
    let maximumSteps: Int
    var textBytes = 0
    let maximumTextBytes: Int

    static let undefined = Int(bitPattern: UInt(UInt64.max))

    init(file: CachedFile) throws {
        self.file = file
        catalog = HDF5Catalog(fileSize: file.size)
        maximumSteps = 1_000_000 + file.size / 16
        maximumTextBytes = min(file.size, 48 << 20) + (16 << 20)
    }

    mutating func build() throws -> HDF5Catalog {
        try readSuperblock()
        var root = try readHeader(at: rootHeader)
        guard root.contains(where: { $0.type == 0x11 }) else {
            throw unsupported("the root is not a symbol-table group")
        }
        visitedGroups.insert(rootHeader)
        catalog.groups.insert("/")
        try walkGroup(path: "", messages: &root, depth: 0)
        return catalog
    }

    func unsupported(_ reason: String, at offset: Int? = nil) -> HDF5Unsupported {
        HDF5Unsupported(reason: reason, offset: offset)
    }

    mutating func step() throws {
        steps += 1
        guard steps <= maximumSteps else { throw unsupported("more structures than a file this size holds") }
    }

    /// The absolute offset of file address `address`, checked to leave `count` bytes before the end of addresses.
    func absolute(_ address: Int, count: Int) throws -> Int {
        let (offset, overflow) = base.addingReportingOverflow(address)
        guard address >= 0, !overflow, count >= 0, offset <= end, count <= end - offset else {
            throw unsupported("address \(address) (+\(count) bytes) outside the file's \(end) bytes")
        }
        return offset
    }

    // MARK: Superblock

    mutating func readSuperblock() throws {
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]
        // Where libhdf5 looks (`H5FD_locate_signature`): 0, then 512, 1024, 2048… inside the file.
        var candidates = [0]
        var place = 512
        while place <= file.size - 8 {
            candidates.append(place)
            place *= 2
        }
        var found: Int?
        for candidate in candidates where candidate <= file.size - 8 {
            if try file.read(candidate, 8) == signature {
                found = candidate
                break
            }
        }
        guard let at = found else { throw unsupported("no HDF5 signature") }
        var reader = ByteReader(try file.read(at, min(file.size - at, 128)))
        try reader.skip(8)
        let version = try reader.readUInt8()
        guard version <= 1 else { throw unsupported("superblock version \(version)", at: at) }
        let freeSpace = try reader.readUInt8()
        let rootEntry = try reader.readUInt8()
        try reader.skip(1)
        let shared = try reader.readUInt8()
        let offsets = try reader.readUInt8()
        let lengths = try reader.readUInt8()
        try reader.skip(1)
        guard freeSpace == 0, rootEntry == 0, shared == 0 else {
            throw unsupported("superblock sub-versions \(freeSpace)/\(rootEntry)/\(shared)", at: at)
        }
        guard offsets == 8, lengths == 8 else { throw unsupported("\(offsets)-byte offsets, \(lengths)-byte lengths") }
        leafK = Int(try reader.readLittleEndian(UInt16.self))
        internalK = Int(try reader.readLittleEndian(UInt16.self))
        guard leafK > 0, internalK > 0 else { throw unsupported("B-tree K of 0", at: at) }
        try reader.skip(4)
        if version == 1 { try reader.skip(4) }
        let baseAddress = try Self.address(&reader)
        _ = try Self.address(&reader)
        let endOfAddresses = try Self.address(&reader)
        let driver = try Self.address(&reader)
        guard baseAddress == at else {
            throw unsupported("base address \(baseAddress) is not the superblock's", at: at)
        }
        guard driver == Self.undefined else { throw unsupported("a driver information block", at: at) }
        // The end of addresses counts from the start of the file, user block included; libhdf5 refuses a file shorter
        // than it ("truncated file").
        let fileEnd = endOfAddresses
        guard endOfAddresses != Self.undefined, fileEnd >= at, fileEnd <= file.size else {
            throw unsupported("end of addresses \(endOfAddresses) past the file's \(file.size) bytes", at: at)
        }
        base = at
        end = fileEnd
        // The root's symbol table entry: name offset, object header address, cache type, reserved, scratch.
        _ = try Self.address(&reader)
        rootHeader = try Self.address(&reader)
        let cache = try reader.readLittleEndian(UInt32.self)
        guard rootHeader != Self.undefined, cache <= 1 else { throw unsupported("no root group", at: at) }
    }

    /// An 8-byte address or length as an `Int`; all ones (undefined) as `undefined`.
    static func address(_ reader: inout ByteReader) throws -> Int {
        let value = try reader.readLittleEndian(UInt64.self)
        if value == UInt64.max { return undefined }
        guard let address = Int(exactly: value) else { throw HDF5Unsupported(reason: "address \(value) too large") }
        return address
    }

    // MARK: Object headers

    /// The messages of the version 1 object header at `address`, its continuation blocks followed.
    mutating func readHeader(at address: Int) throws -> [Message] {
        let header = try absolute(address, count: 16)
        guard visitedChunks.insert(header).inserted else { throw unsupported("object header read twice", at: header) }
        var reader = ByteReader(try file.read(header, 16))
        let version = try reader.readUInt8()
        guard version == 1 else { throw unsupported("object header version \(version)", at: header) }
        try reader.skip(1)
        let count = Int(try reader.readLittleEndian(UInt16.self))
        try reader.skip(4)
        let size = Int(try reader.readLittleEndian(UInt32.self))
        var chunks = [(offset: header + 16, size: size)]
        _ = try absolute(address + 16, count: size)
        var messages: [Message] = []
        var next = 0
        while next < chunks.count {
            let chunk = chunks[next]
            next += 1
            var data = ByteReader(try file.read(chunk.offset, chunk.size))
            while !data.isAtEnd {
                try step()
                let type = try data.readLittleEndian(UInt16.self)
                let length = Int(try data.readLittleEndian(UInt16.self))
                let flags = try data.readUInt8()
                try data.skip(3)
                guard length % 8 == 0 else {
                    throw unsupported("message of \(length) bytes not aligned", at: chunk.offset)
                }
                let offset = chunk.offset + data.offset
                let body = Array(try data.readBytes(length))
                guard messages.count < count else { throw unsupported("more messages than counted", at: header) }
                messages.append(Message(type: type, flags: flags, data: body, offset: offset))
                if type == 0x10 {
                    var continuation = ByteReader(body)
                    let place = try Self.address(&continuation)
                    let length = try Self.address(&continuation)
                    let start = try absolute(place, count: length)
                    guard length > 0, visitedChunks.insert(start).inserted else {
                        throw unsupported("continuation block empty or read twice", at: offset)
                    }
                    chunks.append((start, length))
                }
            }
        }
        guard messages.count == count else { throw unsupported("fewer messages than counted", at: header) }
        for message in messages {
            guard message.flags & 0x02 == 0 else { throw unsupported("a shared message", at: message.offset) }
            switch message.type {
            // NIL, dataspace, datatype, old and new fill value, layout, filter pipeline, attribute, comment, old and
            // new modification time, continuation, symbol table.
            case 0x00, 0x01, 0x03, 0x04, 0x05, 0x08, 0x0B, 0x0C, 0x0D, 0x0E, 0x10, 0x11, 0x12: continue
            default: throw unsupported("object header message type \(message.type)", at: message.offset)
            }
        }
        return messages
    }

    /// The one message of `type`, nil when there is none; two of a kind are refused.
    func single(_ type: UInt16, in messages: [Message]) throws -> Message? {
        let found = messages.filter { $0.type == type }
        guard found.count <= 1 else {
            throw unsupported("\(found.count) messages of type \(type)", at: found[1].offset)
        }
        return found.first
    }

    // MARK: Groups

    /// Lists the group whose header held `messages` (its symbol table), records its attributes, and walks its members.
    mutating func walkGroup(path: String, messages: inout [Message], depth: Int) throws {
        let groupPath = path.isEmpty ? "/" : path
        catalog.attributes[groupPath] = try attributes(in: messages)
        guard let table = try single(0x11, in: messages) else { throw unsupported("group without a symbol table") }
        messages = []
        var reader = ByteReader(table.data)
        let tree = try Self.address(&reader)
        let heap = try Self.address(&reader)
        let names = try localHeap(heap)
        var entries: [(name: String, header: Int)] = []
        try collectEntries(node: tree, level: nil, names: names, within: (nil, nil), into: &entries)
        var seen: Set<String> = []
        for entry in entries {
            guard seen.insert(entry.name).inserted else { throw unsupported("link '\(entry.name)' listed twice") }
            let full = path.isEmpty ? entry.name : path + "/" + entry.name
            try count(text: full)
            if let known = datasets[entry.header] {
                catalog.datasets[full] = known
                continue
            }
            var member = try readHeader(at: entry.header)
            if try single(0x11, in: member) != nil {
                guard visitedGroups.insert(entry.header).inserted else {
                    throw unsupported("group '\(full)' reached twice")
                }
                guard depth + 1 <= HDF5File.maximumGroupDepth else { throw unsupported("groups nest too deep") }
                catalog.groups.insert(full)
                try walkGroup(path: full, messages: &member, depth: depth + 1)
            } else if try single(0x03, in: member) != nil, try single(0x01, in: member) != nil {
                let dataset = try describe(member, full)
                datasets[entry.header] = dataset
                catalog.datasets[full] = dataset
            } else {
                throw unsupported("object '\(full)' is neither a group nor a dataset")
            }
        }
    }

    mutating func count(text: String) throws {
        textBytes += text.utf8.count + 8
        guard textBytes <= maximumTextBytes else { throw unsupported("more names and strings than a catalog holds") }
    }

    /// `count` bytes at file address `address`, which must begin with `signature` and `version`: its absolute offset,
    /// and a reader past those five bytes.
    func structure(_ address: Int, count: Int, _ signature: String, version: UInt8) throws -> (Int, ByteReader) {
        let at = try absolute(address, count: count)
        var reader = ByteReader(try file.read(at, count))
        guard try reader.readBytes(4).elementsEqual(Array(signature.utf8)), try reader.readUInt8() == version else {
            throw unsupported("not a version \(version) \(signature) structure", at: at)
        }
        return (at, reader)
    }

    /// The data segment of the local heap at `address` (link names).
    mutating func localHeap(_ address: Int) throws -> [UInt8] {
        let (at, start) = try structure(address, count: 32, "HEAP", version: 0)
        var reader = start
        try reader.skip(3)
        let size = try Self.address(&reader)
        var free = try Self.address(&reader)
        let data = try Self.address(&reader)
        guard size > 0 else { throw unsupported("empty local heap", at: at) }
        let bytes = try file.read(try absolute(data, count: size), size)
        // Its free list, checked as libhdf5 checks it when it loads the heap (a bad one makes the group unreadable):
        // each block inside the data, a next offset that is not 0, 1 ending the list.
        var blocks = ByteReader(bytes)
        while free != 1 {
            try step()
            guard free >= 0, free < size, size - free >= 16 else {
                throw unsupported("bad local heap free list", at: at)
            }
            try blocks.seek(to: free)
            let next = try Self.address(&blocks)
            let length = try Self.address(&blocks)
            guard next != 0, length <= size - free else { throw unsupported("bad local heap free list", at: at) }
            free = next
        }
        return bytes
    }

    /// The name at `offset` of a local heap's data (NUL-terminated inside it).
    func heapName(_ names: [UInt8], _ offset: Int, at: Int) throws -> ArraySlice<UInt8> {
        guard offset >= 0, offset < names.count, let nul = names[offset...].firstIndex(of: 0) else {
            throw unsupported("link name outside its heap", at: at)
        }
        return names[offset..<nul]
    }

    /// The symbol table entries below B-tree node `node` (version 1, group nodes), in key order.
    ///
    /// libhdf5 finds a member by name with a binary search of each node's keys and of each symbol table node's names,
    /// so a member is only reachable (by `exercise`, which asks for each by name) where the keys are in order and its
    /// name lies between its child's keys at every level: `bounds` are the tightest of those above (exclusive lower,
    /// inclusive upper), and anything out of order is refused.
    mutating func collectEntries(
        node address: Int, level expected: Int?, names: [UInt8],
        within bounds: (lower: ArraySlice<UInt8>?, upper: ArraySlice<UInt8>?),
        into entries: inout [(name: String, header: Int)]
    ) throws {
        try step()
        // A node is read whole, as libhdf5 reads it: 2K children and 2K + 1 keys.
        // K is a 16-bit field: these sizes cannot overflow.
        let capacity = internalK * 2
        let nodeSize = 24 + capacity * 8 + (capacity + 1) * 8
        let (at, start) = try structure(address, count: nodeSize, "TREE", version: 0)
        var reader = start
        guard visitedNodes.insert(at).inserted else { throw unsupported("B-tree node reached twice", at: at) }
        let level = Int(try reader.readUInt8())
        let used = Int(try reader.readLittleEndian(UInt16.self))
        guard expected == nil || expected == level, used <= capacity else {
            throw unsupported("B-tree node level \(level) with \(used) entries", at: at)
        }
        try reader.skip(16)
        var children: [Int] = []
        var keys: [ArraySlice<UInt8>] = []
        for index in 0...used {
            keys.append(try heapName(names, try Self.address(&reader), at: at))
            if index < used { children.append(try Self.address(&reader)) }
        }
        for index in 0..<used {
            guard keys[index].lexicographicallyPrecedes(keys[index + 1]) || keys[index] == keys[index + 1] else {
                throw unsupported("B-tree keys out of order", at: at)
            }
            var lower = keys[index]
            if let above = bounds.lower, lower.lexicographicallyPrecedes(above) { lower = above }
            var upper = keys[index + 1]
            if let above = bounds.upper, above.lexicographicallyPrecedes(upper) { upper = above }
            if level > 0 {
                try collectEntries(
                    node: children[index], level: level - 1, names: names, within: (lower, upper), into: &entries)
            } else {
                try symbolNode(children[index], names: names, within: (lower, upper), into: &entries)
            }
        }
    }

    /// The entries of the symbol table node at `address`.
    mutating func symbolNode(
        _ address: Int, names: [UInt8], within bounds: (lower: ArraySlice<UInt8>, upper: ArraySlice<UInt8>),
        into entries: inout [(name: String, header: Int)]
    ) throws {
        let capacity = leafK * 2
        let nodeSize = 8 + capacity * 40
        let (at, start) = try structure(address, count: nodeSize, "SNOD", version: 1)
        var reader = start
        guard visitedNodes.insert(at).inserted else { throw unsupported("symbol table node reached twice", at: at) }
        try reader.skip(1)
        let count = Int(try reader.readLittleEndian(UInt16.self))
        guard count <= capacity else { throw unsupported("\(count) symbols in a node of \(capacity)", at: at) }
        var previous = bounds.lower
        for _ in 0..<count {
            try step()
            let nameOffset = try Self.address(&reader)
            let header = try Self.address(&reader)
            let cache = try reader.readLittleEndian(UInt32.self)
            try reader.skip(20)
            guard cache <= 1 else { throw unsupported("a soft link or unknown entry (cache type \(cache))", at: at) }
            let bytes = try heapName(names, nameOffset, at: at)
            // In order after the previous name (and the child's lower key), up to its upper key: where libhdf5's
            // binary searches find it.
            guard previous.lexicographicallyPrecedes(bytes),
                bytes == bounds.upper || bytes.lexicographicallyPrecedes(bounds.upper)
            else { throw unsupported("link names out of order", at: at) }
            previous = bytes
            // A name that is not UTF-8 is asked for repaired by `exercise`, which does not find it.
            guard let name = String(validating: bytes, as: UTF8.self) else {
                throw unsupported("link name that is not UTF-8", at: at)
            }
            guard !name.isEmpty, name != ".", !name.contains("/"), header != Self.undefined else {
                throw unsupported("link name '\(name)' that libhdf5 would read as a path", at: at)
            }
            entries.append((name, header))
        }
    }

    // MARK: Datasets

    /// A dataset's type, shape and stored range, as `HDF5File.describe` gives them; refused unless its bytes are the
    /// tensor's or it holds no elements.
    func describe(_ messages: [Message], _ path: String) throws -> HDF5Catalog.Dataset {
        guard try single(0x07, in: messages) == nil else { throw unsupported("external storage for '\(path)'") }
        guard let typeMessage = try single(0x03, in: messages), let spaceMessage = try single(0x01, in: messages)
        else { throw unsupported("dataset '\(path)' without type or dataspace") }
        guard case .number(let dtype) = try element(typeMessage.data[...]) else {
            throw unsupported("dataset '\(path)' of a type not copied as it is", at: typeMessage.offset)
        }
        var shape: [Int]
        switch try space(spaceMessage.data[...]) {
        case .scalar: shape = []
        case .simple(let dimensions): shape = dimensions
        case .null: throw unsupported("null dataspace for '\(path)'")
        }
        guard let byteCount = Shape.byteCount(shape, dtype: dtype) else { throw unsupported("'\(path)' too large") }
        try checkFillValues(messages, size: dtype.byteSize, path)
        // Filters matter only where there are bytes to copy.
        let filtered = try single(0x0B, in: messages) != nil
        guard let layout = try single(0x08, in: messages), byteCount == 0 || !filtered else {
            throw unsupported(byteCount > 0 ? "'\(path)' filtered or without a layout" : "'\(path)' without a layout")
        }
        var reader = ByteReader(layout.data)
        let version = try reader.readUInt8()
        let kind = try reader.readUInt8()
        guard version == 3 || version == 4, kind == 1 || (byteCount == 0 && kind <= 2) else {
            throw unsupported("'\(path)' layout version \(version) class \(kind), not contiguous", at: layout.offset)
        }
        // Nothing to copy: libhdf5 reports no stored range, whatever the layout (but refuses virtual storage).
        guard byteCount > 0 else { return HDF5Catalog.Dataset(dtype: dtype, shape: shape, stored: nil) }
        let address = try Self.address(&reader)
        let size = try Self.address(&reader)
        guard address != Self.undefined, size == byteCount else {
            throw unsupported("'\(path)' unallocated or of another size", at: layout.offset)
        }
        let offset = try absolute(address, count: size)
        return HDF5Catalog.Dataset(dtype: dtype, shape: shape, stored: offset..<(offset + size))
    }

    /// Checks the fill value messages as libhdf5 decodes them when it opens a dataset (a bad one makes the dataset
    /// unreadable): known versions and times, and a value that is absent or of the element's size.
    func checkFillValues(_ messages: [Message], size: Int, _ path: String) throws {
        let refused = unsupported("fill value of '\(path)' that libhdf5 may not read")
        if let old = try single(0x04, in: messages) {
            var reader = ByteReader(old.data)
            let length = Int(try reader.readLittleEndian(UInt32.self))
            guard length == 0 || length == size, length <= reader.remaining else { throw refused }
        }
        guard let fill = try single(0x05, in: messages) else { return }
        var reader = ByteReader(fill.data)
        let version = try reader.readUInt8()
        var defined: Bool
        switch version {
        case 1, 2:
            let allocation = try reader.readUInt8()
            let writing = try reader.readUInt8()
            let flag = try reader.readUInt8()
            guard (1...3).contains(allocation), writing <= 2, flag <= 1 else { throw refused }
            defined = version == 1 || flag == 1
        case 3:
            let flags = try reader.readUInt8()
            guard (1...3).contains(flags & 0x03), (flags >> 2) & 0x03 <= 2, flags & 0xC0 == 0,
                flags & 0x30 != 0x30
            else { throw refused }
            defined = flags & 0x20 != 0
        default:
            throw refused
        }
        if defined {
            let length = Int(try reader.readLittleEndian(UInt32.self))
            guard length == 0 || length == size, length <= reader.remaining else { throw refused }
        }
    }

    /// A datatype message: the element kinds the reader accepts.
    func element(_ bytes: ArraySlice<UInt8>) throws -> Element {
        var reader = ByteReader(bytes)
        let classAndVersion = try reader.readUInt8()
        let (typeClass, version) = (classAndVersion & 0x0F, classAndVersion >> 4)
        guard (1...3).contains(version) else { throw unsupported("datatype version \(version)") }
        let bits = [try reader.readUInt8(), try reader.readUInt8(), try reader.readUInt8()]
        let size = Int(try reader.readLittleEndian(UInt32.self))
        switch typeClass {
        case 0:
            let offset = try reader.readLittleEndian(UInt16.self)
            let precision = Int(try reader.readLittleEndian(UInt16.self))
            let signed = bits[0] & 0x08 != 0
            guard bits[0] & 0x07 == 0, offset == 0, precision == size * 8 else {
                throw unsupported("integer type that is not a little-endian standard one")
            }
            let dtypes: [Int: (DType, DType)] = [
                1: (.int8, .uint8), 2: (.int16, .uint16), 4: (.int32, .uint32), 8: (.int64, .uint64),
            ]
            guard let pair = dtypes[size] else { throw unsupported("\(size)-byte integer") }
            return .number(signed ? pair.0 : pair.1)
        case 1:
            let offset = try reader.readLittleEndian(UInt16.self)
            let precision = Int(try reader.readLittleEndian(UInt16.self))
            let fields = [
                Int(bits[1]), Int(try reader.readUInt8()), Int(try reader.readUInt8()), Int(try reader.readUInt8()),
                Int(try reader.readUInt8()),
            ]
            let bias = Int(try reader.readLittleEndian(UInt32.self))
            // Little-endian, no padding, implied mantissa bit: IEEE types as h5py and numpy write them.
            guard bits[0] == 0x20, offset == 0, precision == size * 8 else {
                throw unsupported("float type that is not a little-endian standard one")
            }
            // Sign position, exponent position and size, mantissa position and size, exponent bias.
            switch (size, fields, bias) {
            case (4, [31, 23, 8, 0, 23], 127): return .number(.float32)
            case (8, [63, 52, 11, 0, 52], 1023): return .number(.float64)
            case (2, [15, 10, 5, 0, 10], 15): return .number(.float16)
            case (2, [15, 7, 8, 0, 7], 127): return .number(.bfloat16)
            default: throw unsupported("\(size)-byte float with fields \(fields), bias \(bias)")
            }
        case 3:
            let padding = bits[0] & 0x0F
            let characterSet = bits[0] >> 4
            guard size > 0, padding <= 2, characterSet <= 1 else { throw unsupported("string type \(bits[0])") }
            return .fixedString(size: size, spacePadded: padding == 2)
        case 9:
            let kind = bits[0] & 0x0F
            let padding = bits[0] >> 4
            let characterSet = bits[1] & 0x0F
            guard kind == 1, padding <= 2, characterSet <= 1, size == 16 else {
                throw unsupported("variable-length type that is not a string")
            }
            // Its base type as libhdf5 writes it for strings: an unsigned 8-bit integer (another base changes how
            // libhdf5 converts the strings).
            guard try reader.readBytes(12).elementsEqual([0x10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 8, 0]) else {
                throw unsupported("variable-length string of another base type")
            }
            return .variableString
        default:
            throw unsupported("datatype class \(typeClass)")
        }
    }

    /// A dataspace message (versions 1 and 2).
    func space(_ bytes: ArraySlice<UInt8>) throws -> Space {
        var reader = ByteReader(bytes)
        let version = try reader.readUInt8()
        let rank = Int(try reader.readUInt8())
        _ = try reader.readUInt8()
        guard rank <= 32 else { throw unsupported("dataspace of rank \(rank)") }
        var kind: UInt8
        switch version {
        case 1:
            try reader.skip(5)
            kind = rank > 0 ? 1 : 0
        case 2:
            kind = try reader.readUInt8()
            guard kind <= 2, (kind == 1) == (rank > 0) else { throw unsupported("dataspace type \(kind)") }
        default:
            throw unsupported("dataspace version \(version)")
        }
        let dimensions = try (0..<rank).map { _ in
            guard let value = Int(exactly: try reader.readLittleEndian(UInt64.self)) else {
                throw unsupported("dimension too large")
            }
            return value
        }
        switch kind {
        case 0: return .scalar
        case 1: return .simple(dimensions)
        default: return .null
        }
    }

    // MARK: Attributes

    /// The attributes of one object, as `exercise` records them: every name, the strings of the string attributes,
    /// and the numeric ones without elements.
    mutating func attributes(in messages: [Message]) throws -> HDF5Catalog.Attributes {
        var attributes = HDF5Catalog.Attributes(names: [], strings: [:])
        for message in messages where message.type == 0x0C {
            var reader = ByteReader(message.data)
            let version = try reader.readUInt8()
            let flags = try reader.readUInt8()
            let nameSize = Int(try reader.readLittleEndian(UInt16.self))
            let typeSize = Int(try reader.readLittleEndian(UInt16.self))
            let spaceSize = Int(try reader.readLittleEndian(UInt16.self))
            guard (1...3).contains(version), flags & 0x03 == 0, nameSize > 0 else {
                throw unsupported("attribute message version \(version), flags \(flags)", at: message.offset)
            }
            if version == 3 { try reader.skip(1) }
            func field(_ size: Int) throws -> ArraySlice<UInt8> {
                let bytes = try reader.readBytes(size)
                if version == 1 { try reader.skip((8 - size % 8) % 8) }
                return bytes
            }
            let nameBytes = try field(nameSize)
            // libhdf5 refuses a name whose length is not the one stored (its NUL the last byte).
            guard let nul = nameBytes.firstIndex(of: 0), nul > nameBytes.startIndex, nul == nameBytes.endIndex - 1
            else {
                throw unsupported("attribute name empty or not of its stored length")
            }
            // libhdf5 lists a name that is not UTF-8 as it is, and `exercise` asks for it back repaired (U+FFFD), which
            // finds nothing: such an attribute is listed by name only.
            let exact = String(validating: nameBytes[..<nul], as: UTF8.self)
            let name = exact ?? String(decoding: nameBytes[..<nul], as: UTF8.self)
            let element = try element(try field(typeSize))
            guard let points = try space(try field(spaceSize)).points else { throw unsupported("attribute too large") }
            let (dataSize, overflow) = points.multipliedReportingOverflow(by: element.storedSize)
            guard !overflow, dataSize <= reader.remaining else {
                throw unsupported("attribute '\(name)' data past its message", at: message.offset)
            }
            let data = try reader.readBytes(dataSize)
            guard attributes.names.insert(name).inserted else { throw unsupported("attribute '\(name)' twice") }
            try count(text: name)
            guard exact != nil else { continue }
            switch element {
            case .number:
                if points == 0 { attributes.emptyNumeric.insert(name) }
            case .fixedString(let size, let spacePadded):
                var strings: [String] = []
                for start in stride(from: data.startIndex, to: data.endIndex, by: size) {
                    var slot = data[start..<(start + size)]
                    if spacePadded {
                        while slot.last == UInt8(ascii: " ") { slot.removeLast() }
                    } else if let end = slot.firstIndex(of: 0) {
                        slot = slot[..<end]
                    }
                    let text = String(decoding: slot, as: UTF8.self)
                    try count(text: text)
                    strings.append(text)
                }
                attributes.strings[name] = strings
            case .variableString:
                var strings: [String] = []
                var elements = ByteReader(data)
                for _ in 0..<points {
                    let length = Int(try elements.readLittleEndian(UInt32.self))
                    let collection = try Self.address(&elements)
                    let index = try elements.readLittleEndian(UInt32.self)
                    // An address of 0 is libhdf5's null string, read as "".
                    var text = ""
                    if collection != 0, length > 0 {
                        let object = try heapObject(collection, index)
                        guard object.size == length else {
                            throw unsupported("string of \(length) bytes in a heap object of \(object.size)")
                        }
                        let bytes = try file.read(object.offset, object.size)
                        text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    try count(text: text)
                    strings.append(text)
                }
                attributes.strings[name] = strings
            }
        }
        return attributes
    }

    /// Where object `index` of the global heap collection at `address` lies.
    mutating func heapObject(_ address: Int, _ index: UInt32) throws -> (offset: Int, size: Int) {
        if heaps[address] == nil {
            let (at, start) = try structure(address, count: 16, "GCOL", version: 1)
            var reader = start
            try reader.skip(3)
            let size = try Self.address(&reader)
            guard size >= 16 else { throw unsupported("global heap collection of \(size) bytes", at: at) }
            _ = try absolute(address, count: size)
            var objects: [UInt16: (offset: Int, size: Int)] = [:]
            var position = 16
            while size - position >= 16 {
                try step()
                var header = ByteReader(try file.read(at + position, 16))
                let object = try header.readLittleEndian(UInt16.self)
                if object == 0 { break }
                try header.skip(6)
                let length = try Self.address(&header)
                let padded = length.addingReportingOverflow(7)
                guard !padded.overflow else { throw unsupported("global heap object too large", at: at + position) }
                let room = padded.partialValue & ~7
                guard length <= size - position - 16, room <= size - position - 16 else {
                    throw unsupported("global heap object past its collection", at: at + position)
                }
                guard objects.updateValue((at + position + 16, length), forKey: object) == nil else {
                    throw unsupported("global heap object \(object) twice", at: at)
                }
                position += 16 + room
            }
            heaps[address] = objects
        }
        guard let small = UInt16(exactly: index), let object = heaps[address]?[small] else {
            throw unsupported("no object \(index) in the global heap collection at \(address)")
        }
        return object
    }
}
