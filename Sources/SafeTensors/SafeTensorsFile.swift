import Foundation
import TensorCore

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
    public static let maximumTensorCount = 2_000_000

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
    /// The whole file; kept as `Data` so a tensor is copied out of it once, on request.
    private let storage: Data
    /// Offset of the data area in `storage`.
    private let dataStart: Int

    /// Reads and validates the file at `path`.
    ///
    /// The file is read into memory rather than mapped: a mapped file truncated by another process would
    /// crash the reader instead of throwing.
    /// - Throws: `SafeTensorsError` naming `path` and, where one is at fault, the tensor.
    public init(path: String) throws(SafeTensorsError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .unreadable(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw .unreadable(path: path, reason: "is a directory")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(storage: data, path: path)
    }

    /// Validates a safetensors file already in memory; `path` is used in errors only.
    public init(bytes: [UInt8], path: String) throws(SafeTensorsError) {
        try self.init(storage: Data(bytes), path: path)
    }

    private init(storage: Data, path: String) throws(SafeTensorsError) {
        self.path = path
        self.storage = storage
        let fileSize = storage.count
        guard fileSize >= 8 else { throw .fileTooSmall(path: path, size: fileSize) }

        var lengthBytes: UInt64 = 0
        for (i, byte) in storage.prefix(8).enumerated() {
            lengthBytes |= UInt64(byte) << (8 * UInt64(i))
        }
        let headerLength = lengthBytes
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw .headerTooLarge(path: path, length: headerLength)
        }
        // Safe: bounded by the 100 MB limit just checked.
        let headerCount = Int(headerLength)
        guard headerCount <= fileSize - 8 else {
            throw .headerBeyondFile(path: path, length: headerLength, fileSize: fileSize)
        }
        dataStart = 8 + headerCount
        let dataSize = fileSize - dataStart

        let headerStart = storage.startIndex + 8
        let headerBytes = [UInt8](storage[headerStart..<(headerStart + headerCount)])
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
        guard storage[headerStart] == UInt8(ascii: "{") else {
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

    /// A copy of the tensor `name`.
    /// - Throws: `SafeTensorsError.tensorNotFound` when the file has no such tensor.
    public func tensor(named name: String) throws(SafeTensorsError) -> Tensor {
        guard let index = indexByName[name] else { throw .tensorNotFound(path: path, tensor: name) }
        let entry = entries[index]
        return Tensor(dtype: entry.dtype, shape: entry.shape, bytes: [UInt8](storage[byteRange(of: entry)]))
    }

    /// Whether the tensor `name` is stored with exactly `bytes`, compared without copying the file's bytes.
    func hasBytes(_ bytes: [UInt8], forTensor name: String) -> Bool {
        guard let index = indexByName[name] else { return false }
        let range = byteRange(of: entries[index])
        guard range.count == bytes.count else { return false }
        return storage[range].withUnsafeBytes { stored in
            bytes.withUnsafeBytes { expected in
                guard let storedStart = stored.baseAddress, let expectedStart = expected.baseAddress else {
                    return stored.count == expected.count  // both empty
                }
                return memcmp(storedStart, expectedStart, stored.count) == 0
            }
        }
    }

    private func byteRange(of entry: Entry) -> Range<Int> {
        let start = storage.startIndex + dataStart
        return (start + entry.begin)..<(start + entry.end)
    }
}
