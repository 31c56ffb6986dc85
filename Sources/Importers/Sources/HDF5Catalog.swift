import Foundation
import HDF5Kit
import ParityModel
import TensorCore

/// What the isolation child read from an HDF5 file while exercising it: every dataset it could describe (element type,
/// shape, and where its bytes lie when they are copied as they are), every group it reached, and the string attributes
/// of the root and the groups. Handed to the parent, so the parent plans a Keras model without walking the file with
/// libhdf5 a second time.
///
/// The parent treats it as untrusted input: `decode` checks every count against the bytes left, every number through
/// checked arithmetic, and every stored range against the file's size as the parent sees it; anything malformed makes
/// the whole catalog unusable (nil), and the parent falls back to reading the file with libhdf5 as before. A catalog
/// only ever answers what it holds; every other question goes to libhdf5 (`HDF5Metadata`).
public struct HDF5Catalog: Sendable, Equatable {
    public struct Dataset: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// The byte range in the file when the bytes are exactly the tensor's (`HDF5File.describe`'s `stored`).
        public var stored: Range<Int>?
    }

    /// The attributes of one object: the names listed (`H5Aiterate2`), the strings of those that are strings, and
    /// those that are numeric arrays without elements (h5py writes an empty list so: `weight_names` of a layer without
    /// weights).
    public struct Attributes: Sendable, Equatable {
        public var names: Set<String>
        public var strings: [String: [String]]
        public var emptyNumeric: Set<String> = []
    }

    /// The file's size when it was read.
    public var fileSize: Int
    /// Dataset path (`model_weights/conv1/conv1/kernel:0`, no leading slash) → what it is.
    public var datasets: [String: Dataset] = [:]
    /// Group paths, the root as `/`.
    public var groups: Set<String> = []
    /// Object path (the root as `/`) → its attributes, for the objects whose attributes could all be listed.
    public var attributes: [String: Attributes] = [:]

    public init(fileSize: Int) { self.fileSize = fileSize }

    private static let magic = Array("tfparity-hdf5-catalog-1\n".utf8)
    /// Bounds no real model file comes near: a catalog past them is refused whole.
    static let maximumRank = 64
    static let maximumStringLength = 64 << 20

    /// The catalog as bytes, for the child's standard output.
    public func encoded() -> [UInt8] {
        var out = Self.magic
        func integer(_ value: Int) { withUnsafeBytes(of: UInt64(truncatingIfNeeded: value).littleEndian) { out += $0 } }
        func string(_ text: String) {
            let bytes = Array(text.utf8)
            integer(bytes.count)
            out += bytes
        }
        integer(fileSize)
        integer(groups.count)
        for group in groups.sorted() { string(group) }
        integer(datasets.count)
        for (path, dataset) in datasets.sorted(by: { $0.key < $1.key }) {
            string(path)
            string(dataset.dtype.rawValue)
            integer(dataset.shape.count)
            for dimension in dataset.shape { integer(dimension) }
            if let stored = dataset.stored {
                integer(1)
                integer(stored.lowerBound)
                integer(stored.count)
            } else {
                integer(0)
            }
        }
        integer(attributes.count)
        for (object, attributes) in attributes.sorted(by: { $0.key < $1.key }) {
            string(object)
            integer(attributes.names.count)
            for name in attributes.names.sorted() { string(name) }
            integer(attributes.strings.count)
            for (name, strings) in attributes.strings.sorted(by: { $0.key < $1.key }) {
                string(name)
                integer(strings.count)
                for text in strings { string(text) }
            }
            integer(attributes.emptyNumeric.count)
            for name in attributes.emptyNumeric.sorted() { string(name) }
        }
        return out
    }

    /// The catalog in `bytes`, if they hold a well-formed one for a file of `fileSize` bytes; nil otherwise.
    public static func decode(_ bytes: [UInt8], fileSize: Int) -> HDF5Catalog? {
        var reader = ByteReader(bytes)
        do {
            guard try reader.readBytes(magic.count).elementsEqual(magic) else { return nil }
            func integer() throws -> Int {
                guard let value = Int(exactly: try reader.readLittleEndian(UInt64.self)) else { throw Malformed() }
                return value
            }
            /// A count of items each at least `size` bytes long: never more than the bytes left could hold.
            func count(each size: Int) throws -> Int {
                let value = try integer()
                guard value <= reader.remaining / size else { throw Malformed() }
                return value
            }
            func string() throws -> String {
                let length = try count(each: 1)
                guard length <= maximumStringLength,
                    let text = String(validating: try reader.readBytes(length), as: UTF8.self)
                else { throw Malformed() }
                return text
            }
            guard try integer() == fileSize else { return nil }
            var catalog = HDF5Catalog(fileSize: fileSize)
            for _ in 0..<(try count(each: 8)) { catalog.groups.insert(try string()) }
            for _ in 0..<(try count(each: 8 * 4)) {
                let path = try string()
                guard let dtype = DType(rawValue: try string()) else { throw Malformed() }
                let rank = try count(each: 8)
                guard rank <= maximumRank else { throw Malformed() }
                let shape = try (0..<rank).map { _ in try integer() }
                guard let byteCount = Shape.byteCount(shape, dtype: dtype) else { throw Malformed() }
                var stored: Range<Int>?
                switch try integer() {
                case 0: break
                case 1:
                    let offset = try integer()
                    let length = try integer()
                    let (end, overflow) = offset.addingReportingOverflow(length)
                    guard !overflow, length > 0, length == byteCount, end <= fileSize else { throw Malformed() }
                    stored = offset..<end
                default: throw Malformed()
                }
                guard
                    catalog.datasets.updateValue(Dataset(dtype: dtype, shape: shape, stored: stored), forKey: path)
                        == nil
                else { throw Malformed() }
            }
            for _ in 0..<(try count(each: 8 * 4)) {
                let object = try string()
                var names: Set<String> = []
                for _ in 0..<(try count(each: 8)) { names.insert(try string()) }
                var strings: [String: [String]] = [:]
                for _ in 0..<(try count(each: 8 * 2)) {
                    let name = try string()
                    guard names.contains(name) else { throw Malformed() }
                    strings[name] = try (0..<(try count(each: 8))).map { _ in try string() }
                }
                var emptyNumeric: Set<String> = []
                for _ in 0..<(try count(each: 8)) {
                    let name = try string()
                    guard names.contains(name), strings[name] == nil else { throw Malformed() }
                    emptyNumeric.insert(name)
                }
                let attributes = Attributes(names: names, strings: strings, emptyNumeric: emptyNumeric)
                guard catalog.attributes.updateValue(attributes, forKey: object) == nil else { throw Malformed() }
            }
            guard reader.isAtEnd else { return nil }
            return catalog
        } catch {
            return nil
        }
    }

    private struct Malformed: Error {}
}

/// The metadata of an HDF5 file as the Keras readers ask for it: answered from the isolation child's catalog where it
/// holds the answer, from the file through libhdf5 (opened at the first such question) otherwise, so the answers, and
/// the errors, are the ones `HDF5File` gives.
final class HDF5Metadata {
    /// The file as the user named it.
    let path: String
    private let catalog: HDF5Catalog?
    private var opened: HDF5File?
    /// Read-only descriptor for tensors the catalog places in the file; owned here.
    private let descriptor: Int32

    /// The file at `path`, with the catalog the pure-Swift reader or the isolation probe made of it (when either did).
    init(path: String) throws {
        let catalog = try HDF5Isolation.catalog(path)
        self.path = path
        var descriptor: Int32 = -1
        var usable: HDF5Catalog?
        // The catalog holds only for the file it was made from: same size, same file (checked by the identity the
        // parent took before starting the child, `HDF5Isolation`).
        if let catalog, case .success(let opened) = FileIO.openRegularFile(path) {
            descriptor = opened.descriptor
            if opened.size == catalog.fileSize, HDF5Isolation.identity(of: descriptor) == HDF5Isolation.identity(path) {
                usable = catalog
            }
        }
        self.descriptor = descriptor
        self.catalog = usable
        if usable == nil {
            try HDF5Isolation.check(path)
            opened = try HDF5File(path: path)
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// The file through libhdf5, opened at the first question the catalog cannot answer.
    var file: HDF5File {
        get throws {
            if let opened { return opened }
            // A catalog the pure-Swift reader made was not probed: the child reads the file before libhdf5 does here.
            try HDF5Isolation.check(path)
            let file = try HDF5File(path: path)
            opened = file
            return file
        }
    }

    func exists(_ objectPath: String) throws -> Bool {
        if let catalog, catalog.groups.contains(objectPath) || catalog.datasets[objectPath] != nil { return true }
        return try file.exists(objectPath)
    }

    func stringArrayAttribute(_ name: String, at objectPath: String = "/") throws -> [String]? {
        if let attributes = catalog?.attributes[objectPath] {
            if !attributes.names.contains(name) { return nil }
            if let strings = attributes.strings[name] { return strings }
        }
        return try file.stringArrayAttribute(name, at: objectPath)
    }

    func stringAttribute(_ name: String, at objectPath: String = "/") throws -> String? {
        if let attributes = catalog?.attributes[objectPath] {
            if !attributes.names.contains(name) { return nil }
            if let strings = attributes.strings[name], strings.count == 1 { return strings[0] }
        }
        return try file.stringAttribute(name, at: objectPath)
    }

    /// A string array attribute, an empty numeric array read as an empty list (h5py writes an empty list of names so);
    /// nil when there is no such attribute. Any other numeric attribute throws what `stringArrayAttribute` throws.
    func stringListAttribute(_ name: String, at objectPath: String = "/") throws -> [String]? {
        if let attributes = catalog?.attributes[objectPath] {
            if !attributes.names.contains(name) { return nil }
            if let strings = attributes.strings[name] { return strings }
            if attributes.emptyNumeric.contains(name) { return [] }
        }
        let file = try file
        do {
            return try file.stringArrayAttribute(name, at: objectPath)
        } catch {
            guard let values = try? file.numericAttribute(name, at: objectPath), values.isEmpty else { throw error }
            return []
        }
    }

    /// A dataset described by the catalog (or libhdf5), read when the plan needs it.
    func pendingTensor(_ datasetPath: String) throws -> PendingTensor {
        guard let dataset = catalog?.datasets[datasetPath] else { return try file.pendingTensor(datasetPath) }
        let stored = dataset.stored.map {
            FileRange(path: path, member: datasetPath, offset: $0.lowerBound, count: $0.count)
        }
        return PendingTensor(dtype: dataset.dtype, shape: dataset.shape, stored: stored) {
            try self.readTensor(datasetPath)
        }
    }

    /// A whole dataset: the bytes the catalog places in the file, read with `pread` (the range was checked against
    /// the file's size when the catalog was decoded), or libhdf5's `H5Dread` for the others.
    func readTensor(_ datasetPath: String) throws -> Tensor {
        guard let dataset = catalog?.datasets[datasetPath], let stored = dataset.stored else {
            return try file.readTensor(datasetPath)
        }
        switch FileIO.read(descriptor, count: stored.count, at: stored.lowerBound) {
        case .success(let bytes): return Tensor(dtype: dataset.dtype, shape: dataset.shape, bytes: bytes)
        case .failure(let failure):
            throw FileError(path: path, member: datasetPath, reason: "cannot be read: \(failure.description)")
        }
    }
}
