import Foundation
import TensorCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A safetensors file, read once and checked completely before any tensor is handed out.
///
/// Layout: an 8-byte little-endian header length `N`, `N` bytes of UTF-8 JSON (an object whose optional
/// `__metadata__` member maps strings to strings and whose other members are
/// `{"dtype", "shape", "data_offsets": [begin, end]}`, offsets relative to the first byte after the header),
/// then the data area. Beyond what the reference implementation checks, this reader also rejects duplicate
/// JSON keys and entries with fields other than the three above.
public struct SafeTensorsFile: Sendable {
    /// The largest header accepted, as in the reference implementation (100 MB).
    public static let maximumHeaderLength = 100_000_000
    /// The most tensors accepted in one file; far more than any model has, low enough to bound memory.
    /// Far above any real model (a large language model has a few thousand tensors), low enough that a header claiming
    /// more is refused before it is parsed.
    public static let maximumTensorCount = 100_000

    /// The file as the caller named it, used in errors.
    public let path: String
    /// The `__metadata__` strings (empty when the header has none).
    public let metadata: [String: String]

    private struct Entry: Sendable {
        var name: String
        var dtype: DType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// Entries in data-offset order.
    private let entries: [Entry]
    private let indexByName: [String: Int]
    /// Where tensor bytes come from: the file itself, read on request, or bytes already in memory.
    private enum Storage: Sendable {
        case file(String)
        case memory(Data)
    }

    private let storage: Storage
    /// Offset of the data area from the start of the file.
    private let dataStart: Int

    /// Opens and validates the file at `path`: reads its header and checks every rule against the file's size.
    ///
    /// Tensor bytes stay on disk until `tensor(named:)` asks for them, so opening a model costs its header, not
    /// its size. Reads use `pread`, never a memory map: a file truncated by another process then makes a read
    /// fail with an error instead of crashing the reader.
    /// - Throws: `SafeTensorsError` naming `path` and, where one is at fault, the tensor.
    public init(path: String) throws(SafeTensorsError) {
        let (descriptor, fileSize) = try Self.open(path)
        defer { close(descriptor) }
        guard fileSize >= 8 else { throw .fileTooSmall(path: path, size: fileSize) }
        let lengthBytes = try Self.read(descriptor, count: 8, at: 0, path: path)
        let headerLength = Self.littleEndianLength(lengthBytes)
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw .headerTooLarge(path: path, length: headerLength)
        }
        guard Int(headerLength) <= fileSize - 8 else {
            throw .headerBeyondFile(path: path, length: headerLength, fileSize: fileSize)
        }
        let header = try Self.read(descriptor, count: Int(headerLength), at: 8, path: path)
        try self.init(header: header, fileSize: fileSize, storage: .file(path), path: path)
    }

    /// Opens a regular file for reading (`FileIO.openRegularFile`: a FIFO or device is refused, never waited on).
    private static func open(_ filePath: String, as path: String? = nil) throws(SafeTensorsError) -> (Int32, Int) {
        switch FileIO.openRegularFile(filePath) {
        case .success(let opened): return opened
        case .failure(let failure):
            throw .unreadable(
                path: path ?? filePath, reason: failure.number == EISDIR ? "is a directory" : failure.reason)
        }
    }

    /// Validates a safetensors file already in memory; `path` is used in errors only.
    public init(bytes: [UInt8], path: String) throws(SafeTensorsError) {
        let fileSize = bytes.count
        guard fileSize >= 8 else { throw .fileTooSmall(path: path, size: fileSize) }
        let headerLength = Self.littleEndianLength(bytes[0..<8])
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw .headerTooLarge(path: path, length: headerLength)
        }
        guard Int(headerLength) <= fileSize - 8 else {
            throw .headerBeyondFile(path: path, length: headerLength, fileSize: fileSize)
        }
        try self.init(
            header: Array(bytes[8..<(8 + Int(headerLength))]), fileSize: fileSize, storage: .memory(Data(bytes)),
            path: path)
    }

    private static func littleEndianLength(_ bytes: some Collection<UInt8>) -> UInt64 {
        var length: UInt64 = 0
        for (i, byte) in bytes.prefix(8).enumerated() {
            length |= UInt64(byte) << (8 * UInt64(i))
        }
        return length
    }

    /// Exactly `count` bytes at `offset`, or an error naming the file.
    private static func read(_ descriptor: Int32, count: Int, at offset: Int, path: String) throws(SafeTensorsError)
        -> [UInt8]
    {
        switch FileIO.read(descriptor, count: count, at: offset) {
        case .success(let bytes): return bytes
        case .failure(let failure): throw .unreadable(path: path, reason: failure.description)
        }
    }

    /// How many times `needle` occurs in `haystack` (non-overlapping).
    private static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> Int {
        guard let first = needle.first, haystack.count >= needle.count else { return 0 }
        var count = 0
        haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pattern in
                var i = 0
                let last = hay.count - pattern.count
                while i <= last {
                    if hay[i] == first && memcmp(hay.baseAddress! + i, pattern.baseAddress!, pattern.count) == 0 {
                        count += 1
                        i += pattern.count
                    } else {
                        i += 1
                    }
                }
            }
        }
        return count
    }

    /// Checks `header` (the JSON bytes) against a file of `fileSize` bytes.
    private init(header headerBytes: [UInt8], fileSize: Int, storage: Storage, path: String) throws(SafeTensorsError) {
        self.path = path
        self.storage = storage
        dataStart = 8 + headerBytes.count
        let dataSize = fileSize - dataStart

        // Every tensor entry spells "data_offsets" once: counting them is a fast scan that bounds the JSON tree's size
        // before it is built, so a header of millions of tiny tensors costs a scan, not gigabytes.
        let entryCount = Self.occurrences(of: Array("\"data_offsets\"".utf8), in: headerBytes)
        guard entryCount <= Self.maximumTensorCount else {
            throw .tooManyTensors(path: path, count: entryCount, limit: Self.maximumTensorCount)
        }
        // Checked here as well as in the parser so the message can say which rule failed.
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw .invalidHeader(path: path, reason: "not UTF-8")
        }
        let header: JSONValue
        do {
            header = try JSONValue.parse(headerBytes)
        } catch {
            throw .invalidHeader(path: path, reason: "not valid JSON: \(error.description)")
        }
        guard let members = header.objectMembers else {
            throw .invalidHeader(path: path, reason: "not a JSON object")
        }
        // The reference implementation rejects leading whitespace too; match it so both accept the same files.
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw .invalidHeader(path: path, reason: "does not start with '{'")
        }

        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        entries.reserveCapacity(min(members.count, Self.maximumTensorCount))
        for (name, value) in members {
            if name == "__metadata__" {
                metadata = try Self.parseMetadata(value, path: path)
                continue
            }
            guard entries.count < Self.maximumTensorCount else {
                throw .tooManyTensors(path: path, count: members.count, limit: Self.maximumTensorCount)
            }
            entries.append(try Self.parseEntry(name: name, value: value, dataSize: dataSize, path: path))
        }
        self.metadata = metadata

        // Sort once (n log n) and check neighbours; ties between empty tensors keep header order.
        let order = entries.indices.sorted { a, b in
            let left = entries[a]
            let right = entries[b]
            if left.begin != right.begin { return left.begin < right.begin }
            if left.end != right.end { return left.end < right.end }
            return a < b
        }
        var sorted: [Entry] = []
        sorted.reserveCapacity(entries.count)
        var expectedBegin = 0
        for position in order {
            let entry = entries[position]
            if entry.begin < expectedBegin {
                throw .overlappingTensors(path: path, tensor: entry.name, previous: sorted[sorted.count - 1].name)
            }
            if entry.begin > expectedBegin {
                throw .gapBeforeTensor(path: path, tensor: entry.name, expectedBegin: expectedBegin, begin: entry.begin)
            }
            expectedBegin = entry.end
            sorted.append(entry)
        }
        guard expectedBegin == dataSize else {
            throw .trailingBytes(path: path, count: dataSize - expectedBegin)
        }
        self.entries = sorted
        var indexByName: [String: Int] = [:]
        indexByName.reserveCapacity(sorted.count)
        for (i, entry) in sorted.enumerated() {
            indexByName[entry.name] = i
        }
        self.indexByName = indexByName
    }

    private static func parseMetadata(_ value: JSONValue, path: String) throws(SafeTensorsError) -> [String: String] {
        guard let members = value.objectMembers else {
            throw .invalidMetadata(path: path, reason: "not an object of strings")
        }
        var metadata: [String: String] = [:]
        for (key, member) in members {
            guard let text = member.stringValue else {
                throw .invalidMetadata(path: path, reason: "value of '\(key)' is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(name: String, value: JSONValue, dataSize: Int, path: String)
        throws(SafeTensorsError) -> Entry
    {
        func invalid(_ reason: String) -> SafeTensorsError {
            .invalidTensorEntry(path: path, tensor: name, reason: reason)
        }
        guard let fields = value.objectMembers else {
            throw invalid("entry is not an object")
        }
        for (key, _) in fields where !["dtype", "shape", "data_offsets"].contains(key) {
            throw invalid("unexpected field '\(key)'")
        }
        guard let dtypeValue = value["dtype"] else { throw invalid("missing 'dtype'") }
        guard let dtypeName = dtypeValue.stringValue else { throw invalid("'dtype' is not a string") }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw .unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeValue = value["shape"] else { throw invalid("missing 'shape'") }
        guard let shapeElements = shapeValue.arrayValue else { throw invalid("'shape' is not a list") }
        var shape: [Int] = []
        shape.reserveCapacity(shapeElements.count)
        for element in shapeElements {
            guard let dimension = element.intValue else {
                throw invalid("'shape' holds something other than integers")
            }
            shape.append(dimension)
        }
        guard let byteCount = Shape.byteCount(shape, dtype: dtype) else {
            throw .invalidShape(path: path, tensor: name, shape: shape)
        }
        guard let offsetsValue = value["data_offsets"] else { throw invalid("missing 'data_offsets'") }
        guard let offsets = offsetsValue.arrayValue, offsets.count == 2,
            let begin = offsets[0].intValue, let end = offsets[1].intValue
        else {
            throw invalid("'data_offsets' is not a pair of integers")
        }
        guard begin >= 0, begin <= end else {
            throw invalid("data_offsets [\(begin), \(end)] are not an increasing pair of non-negative integers")
        }
        guard end - begin == byteCount else {
            throw .sizeMismatch(path: path, tensor: name, expected: byteCount, actual: end - begin)
        }
        guard end <= dataSize else {
            throw .offsetsOutOfBounds(path: path, tensor: name, end: end, dataSize: dataSize)
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// The tensor names in data-offset order (the order of their bytes in the file).
    public var names: [String] { entries.map(\.name) }

    /// The number of tensors.
    public var count: Int { entries.count }

    /// The dtype and shape of the tensor `name`, or `nil` when the file has no such tensor.
    public func info(_ name: String) -> (dtype: DType, shape: [Int])? {
        guard let index = indexByName[name] else { return nil }
        return (entries[index].dtype, entries[index].shape)
    }

    /// The tensor `name`, read from the file (or copied from memory).
    /// - Throws: `SafeTensorsError.tensorNotFound` when the file has no such tensor, `unreadable` when the file
    ///   changed since it was opened.
    public func tensor(named name: String) throws(SafeTensorsError) -> Tensor {
        guard let index = indexByName[name] else { throw .tensorNotFound(path: path, tensor: name) }
        let entry = entries[index]
        let bytes: [UInt8]
        switch storage {
        case .memory(let data):
            let start = data.startIndex + dataStart
            bytes = [UInt8](data[(start + entry.begin)..<(start + entry.end)])
        case .file(let filePath):
            let (descriptor, _) = try Self.open(filePath, as: path)
            defer { close(descriptor) }
            bytes = try Self.read(descriptor, count: entry.end - entry.begin, at: dataStart + entry.begin, path: path)
        }
        return Tensor(dtype: entry.dtype, shape: entry.shape, bytes: bytes)
    }

    /// Where a tensor's bytes lie in the file (offsets from the start of the file, header included).
    public func byteRange(_ name: String) -> Range<Int>? {
        guard let index = indexByName[name] else { return nil }
        return (dataStart + entries[index].begin)..<(dataStart + entries[index].end)
    }
}

/// The checksum a written file's tensors are read back against.
typealias DataChecksum = ByteChecksum
