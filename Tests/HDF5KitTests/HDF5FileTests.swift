import Foundation
import HDF5Kit
import TensorCore
import TestSupport
import Testing

/// `Fixtures/readers/hdf5/expected.json`, written by `Scripts/fixtures/hdf5_readers.py` from what h5py wrote.
struct ExpectedFixture: Decodable {
    struct Dataset: Decodable {
        var dtype: String
        var shape: [Int]
        /// Each element's bit pattern as big-endian hex (`3f800000` is float32 1.0).
        var bits: [String]
        /// Where h5py says HDF5 keeps it.
        var storage: Storage
    }

    struct Storage: Decodable {
        var layout: String
        var filters: Int
        /// `H5Dget_offset` from h5py: from the start of the file; nil when not contiguous or not allocated.
        var offset: Int?
        var storageSize: Int
        var littleEndian: Bool

        enum CodingKeys: String, CodingKey {
            case layout, filters, offset
            case storageSize = "storage_size"
            case littleEndian = "little_endian"
        }

        /// Whether the bytes in the file are the tensor's: contiguous, unfiltered, allocated, little-endian.
        var isStoredAsTensor: Bool {
            layout == "contiguous" && filters == 0 && offset != nil && storageSize > 0 && littleEndian
        }
    }

    struct Attribute: Decodable {
        /// `string`, `strings` or `numeric` (doubles as round-trippable repr strings).
        var kind: String
        var object: String
        var name: String
        var value: AttributeValue
    }

    enum AttributeValue: Decodable {
        case one(String)
        case many([String])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let list = try? container.decode([String].self) {
                self = .many(list)
            } else {
                self = .one(try container.decode(String.self))
            }
        }

        var strings: [String] {
            switch self {
            case .one(let value): [value]
            case .many(let values): values
            }
        }
    }

    var datasets: [String: Dataset]
    var attributes: [Attribute]

    static func load() throws -> ExpectedFixture {
        let data = try Data(contentsOf: fixture("readers/hdf5/expected.json"))
        return try JSONDecoder().decode(ExpectedFixture.self, from: data)
    }

    /// Dataset names for test arguments; empty if the fixture is unreadable, which `fixtureListsDatasets` reports.
    static let datasetNames: [String] = ((try? load())?.datasets.keys.sorted()) ?? []
    static let attributeCases: [Attribute] = (try? load())?.attributes ?? []
}

extension ExpectedFixture.Attribute: CustomTestStringConvertible {
    var testDescription: String { "\(object) @\(name)" }
}

/// Little-endian bytes from big-endian hex bit patterns `width` bytes wide.
func littleEndianBytes(fromHexBits bits: [String], width: Int) throws -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(bits.count * width)
    for hex in bits {
        let value = try #require(UInt64(hex, radix: 16), "bad hex '\(hex)' in expected.json")
        for index in 0..<width { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }
    return bytes
}

let hdf5Directory = fixture("readers/hdf5")
let datasetsFile = hdf5Directory.appendingPathComponent("datasets.h5").path
let refusedFile = hdf5Directory.appendingPathComponent("refused.h5").path
let externalLinkFile = hdf5Directory.appendingPathComponent("external_link.h5").path

@Suite struct DatasetReadingTests {
    @Test func fixtureListsDatasets() throws {
        let expected = try ExpectedFixture.load()
        #expect(expected.datasets.count >= 30)
        #expect(ExpectedFixture.datasetNames.count == expected.datasets.count)
    }

    @Test("every dataset matches h5py bit for bit", arguments: ExpectedFixture.datasetNames)
    func datasetMatchesExpected(_ name: String) throws {
        let expected = try #require(try ExpectedFixture.load().datasets[name])
        let dtype = try #require(DType(rawValue: expected.dtype))
        let file = try HDF5File(path: datasetsFile)

        let tensor = try file.readTensor(name)
        #expect(tensor.dtype == dtype)
        #expect(tensor.shape == expected.shape)
        #expect(tensor.bytes == (try littleEndianBytes(fromHexBits: expected.bits, width: dtype.byteSize)))

        let info = try file.datasetInfo(name)
        #expect(info.dtype == dtype)
        #expect(info.shape == expected.shape)
    }

    @Test func leadingSlashNamesTheSameDataset() throws {
        let file = try HDF5File(path: datasetsFile)
        #expect(try file.readTensor("/layer0/bn/gamma") == file.readTensor("layer0/bn/gamma"))
    }

    @Test func listsEveryDatasetDepthFirstInNameOrder() throws {
        let expected = try ExpectedFixture.load()
        let paths = try HDF5File(path: datasetsFile).datasetPaths()
        #expect(paths == expected.datasets.keys.sorted())
        #expect(paths.contains("layer0/bn/gamma"))
    }

    @Test(arguments: [
        ("/", ["dtypes", "layer0", "storage"]),
        ("layer0", ["W", "b", "bn"]),
        ("/layer0/bn", ["beta", "gamma"]),
    ])
    func groupMembers(_ group: String, _ members: [String]) throws {
        #expect(try HDF5File(path: datasetsFile).groupMembers(group) == members)
    }

    @Test(arguments: [
        ("layer0/bn/gamma", true), ("/layer0", true), ("/", true), ("nope", false), ("layer0/nope", false),
        ("layer0/W/deeper", false),
    ])
    func exists(_ path: String, _ expected: Bool) throws {
        #expect(try HDF5File(path: datasetsFile).exists(path) == expected)
    }

    @Test func limitsRefuseLargeDatasetsBeforeReading() throws {
        let file = try HDF5File(path: datasetsFile, limits: HDF5ReadLimits(maxTensorBytes: 100, alwaysAllowedBytes: 0))
        #expect(try file.readTensor("layer0/W").shape == [3, 4])
        #expect(
            throws: HDF5Error.tooLarge(
                path: datasetsFile, dataset: "storage/chunked_gzip_shuffle", bytes: 512, limit: 100)
        ) {
            try file.readTensor("storage/chunked_gzip_shuffle")
        }
    }
}

@Suite struct AttributeTests {
    @Test(arguments: ExpectedFixture.attributeCases)
    func attributeMatchesExpected(_ attribute: ExpectedFixture.Attribute) throws {
        let file = try HDF5File(path: datasetsFile)
        switch attribute.kind {
        case "string":
            #expect(try file.stringAttribute(attribute.name, at: attribute.object) == attribute.value.strings.first)
            #expect(try file.stringArrayAttribute(attribute.name, at: attribute.object) == attribute.value.strings)
        case "strings":
            #expect(try file.stringArrayAttribute(attribute.name, at: attribute.object) == attribute.value.strings)
        case "numeric":
            let expected = attribute.value.strings.compactMap(Double.init)
            #expect(expected.count == attribute.value.strings.count)
            // Bit-exact: h5py's repr round-trips and HDF5's conversion to double is exact for these.
            #expect(try file.numericAttribute(attribute.name, at: attribute.object) == expected)
            let tensor = try #require(try file.attributeTensor(attribute.name, at: attribute.object))
            #expect(tensor.doubleValues() == expected)
        default:
            Issue.record("unknown attribute kind '\(attribute.kind)' in expected.json")
        }
    }

    @Test func attributeNamesMatchH5py() throws {
        let expected = try ExpectedFixture.load().attributes
        let file = try HDF5File(path: datasetsFile)
        #expect(try file.attributeNames() == expected.filter { $0.object == "/" }.map(\.name).sorted())
        #expect(try file.attributeNames(at: "layer0") == ["weight_names"])
        #expect(try file.attributeNames(at: "layer0/W") == [])
    }

    @Test func attributeTensorKeepsTheFileType() throws {
        let counts = try #require(try HDF5File(path: datasetsFile).attributeTensor("counts"))
        #expect(counts.dtype == .int32)
        #expect(counts.shape == [3])
        let half = try #require(try HDF5File(path: datasetsFile).attributeTensor("half"))
        #expect(half.dtype == .float16)
    }

    @Test func missingAttributeIsNil() throws {
        let file = try HDF5File(path: datasetsFile)
        #expect(try file.stringAttribute("no_such_attribute") == nil)
        #expect(try file.numericAttribute("no_such_attribute", at: "layer0") == nil)
    }

    @Test func wrongAttributeKindsAreRefused() throws {
        let file = try HDF5File(path: datasetsFile)
        #expect(
            throws: HDF5Error.unsupportedAttribute(
                path: datasetsFile, object: "/", attribute: "epsilon", description: "is a float, not a string")
        ) {
            try file.stringAttribute("epsilon")
        }
        #expect(
            throws: HDF5Error.unsupportedAttribute(
                path: datasetsFile, object: "/", attribute: "backend", description: "is a string, not a number")
        ) {
            try file.numericAttribute("backend")
        }
        #expect(
            throws: HDF5Error.unsupportedAttribute(
                path: datasetsFile, object: "/", attribute: "layer_names", description: "holds 3 strings, not one")
        ) {
            try file.stringAttribute("layer_names")
        }
    }

    @Test func attributeOfMissingObject() throws {
        #expect(throws: HDF5Error.noSuchObject(path: datasetsFile, object: "nope")) {
            try HDF5File(path: datasetsFile).stringAttribute("x", at: "nope")
        }
    }
}

/// A dataset the reader must refuse, with words its error must contain.
struct RefusedCase: Sendable, CustomTestStringConvertible {
    var dataset: String
    var reasonContains: String
    var testDescription: String { dataset }
}

@Suite struct RefusalTests {
    @Test(arguments: [
        RefusedCase(dataset: "compound", reasonContains: "unsupported element type: compound"),
        RefusedCase(dataset: "vlen", reasonContains: "unsupported element type: variable-length"),
        RefusedCase(dataset: "string", reasonContains: "unsupported element type: string"),
        RefusedCase(dataset: "vlen_string", reasonContains: "unsupported element type: string"),
        RefusedCase(dataset: "array", reasonContains: "unsupported element type: array"),
        RefusedCase(dataset: "opaque", reasonContains: "unsupported element type: opaque"),
        RefusedCase(dataset: "reference", reasonContains: "unsupported element type: object or region reference"),
        RefusedCase(dataset: "enum", reasonContains: "enum (BLUE, GREEN, RED)"),
        RefusedCase(
            dataset: "external_storage", reasonContains: "unsupported storage: raw data stored in 1 external file"),
        RefusedCase(dataset: "virtual", reasonContains: "unsupported storage: virtual dataset"),
        RefusedCase(dataset: "sparse_bomb", reasonContains: "declares 268435456 bytes, more than the"),
    ])
    func refusedDataset(_ refused: RefusedCase) throws {
        let file = try HDF5File(path: refusedFile)
        do {
            let tensor = try file.readTensor(refused.dataset)
            Issue.record("read \(tensor.shape) from '\(refused.dataset)', expected a refusal")
        } catch {
            #expect(error.path == refusedFile)
            #expect(error.member == refused.dataset)
            #expect(error.reason.contains(refused.reasonContains), "\(error.reason)")
            #expect(error.description.hasPrefix("\(refusedFile): \(refused.dataset): "))
        }
    }

    @Test func theRefusedFileStillReadsItsPlainDataset() throws {
        let file = try HDF5File(path: refusedFile)
        #expect(try file.readTensor("ok").doubleValues() == [0, 1, 2])
        #expect(try file.datasetPaths().contains("virtual"))
    }

    @Test(arguments: ["missing", "layer0/missing", "missing/deeper/gamma"])
    func missingDataset(_ name: String) throws {
        #expect(throws: HDF5Error.noSuchObject(path: datasetsFile, object: name)) {
            try HDF5File(path: datasetsFile).readTensor(name)
        }
    }

    @Test func groupIsNotADataset() throws {
        #expect(throws: HDF5Error.notDataset(path: datasetsFile, object: "layer0/bn", kind: "group")) {
            try HDF5File(path: datasetsFile).readTensor("layer0/bn")
        }
    }

    @Test func externalLinksAreNeverFollowed() throws {
        let file = try HDF5File(path: externalLinkFile)
        #expect(try file.readTensor("local").shape == [2])
        #expect(
            throws: HDF5Error.externalLink(
                path: externalLinkFile, link: "linked", target: "datasets.h5:/layer0/bn/gamma")
        ) {
            try file.readTensor("linked")
        }
        #expect(throws: HDF5Error.externalLink(path: externalLinkFile, link: "group", target: "datasets.h5:/layer0")) {
            try file.readTensor("group/W")
        }
        #expect(throws: HDF5Error.externalLink(path: externalLinkFile, link: "group", target: "datasets.h5:/layer0")) {
            try file.datasetPaths()
        }
        #expect(!file.exists("linked"))
        #expect(file.exists("local"))
    }
}

@Suite struct FileOpeningTests {
    @Test func notHDF5() throws {
        let path = hdf5Directory.appendingPathComponent("not_hdf5.h5").path
        #expect(throws: HDF5Error.notHDF5(path: path)) { try HDF5File(path: path) }
    }

    @Test func missingFile() throws {
        let path = hdf5Directory.appendingPathComponent("no_such_file.h5").path
        #expect(throws: HDF5Error.fileNotFound(path: path)) { try HDF5File(path: path) }
    }

    @Test func directoryIsNotAFile() throws {
        #expect(throws: HDF5Error.fileNotFound(path: hdf5Directory.path)) { try HDF5File(path: hdf5Directory.path) }
    }

    /// The committed truncated copy, and fresh truncations of the good file at other lengths: each is refused
    /// with HDF5's own error-stack text, never a crash.
    @Test(arguments: [0, 512, 2048, 8192, 20000])
    func truncatedCopy(_ length: Int) throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path: String
        if length == 0 {
            path = hdf5Directory.appendingPathComponent("truncated.h5").path
        } else {
            path = directory.appendingPathComponent("truncated-\(length).h5").path
            let bytes = try Data(contentsOf: URL(fileURLWithPath: datasetsFile)).prefix(length)
            try bytes.write(to: URL(fileURLWithPath: path))
        }
        do {
            let file = try HDF5File(path: path)
            let paths = try file.datasetPaths()
            for name in paths { _ = try file.readTensor(name) }
            Issue.record("read all of a \(length)-byte truncation of datasets.h5")
        } catch {
            #expect(error.path == path)
            #expect(error.description.hasPrefix(path + ": "))
            // HDF5's own words reached the message: the stack walk worked.
            #expect(error.reason.contains("truncated file") || error.reason.contains("eof"), "\(error.reason)")
        }
    }

    @Test func errorStackTextIsCarried() throws {
        let path = hdf5Directory.appendingPathComponent("truncated.h5").path
        do {
            _ = try HDF5File(path: path)
            Issue.record("opened a truncated file")
        } catch {
            guard case .openFailed(_, let detail) = error else {
                Issue.record("expected openFailed, got \(error)")
                return
            }
            #expect(detail.contains("truncated file: eof = 1024"), "\(detail)")
        }
    }
}
