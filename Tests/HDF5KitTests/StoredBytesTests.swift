import Foundation
import HDF5Kit
import TensorCore
import TestSupport
import Testing

/// `storedBytes` / `describe`: which datasets are read (and copied) by offset instead of through `H5Dread`, checked
/// against the layout and offsets h5py reports for the same files.
@Suite struct StoredBytesTests {
    /// `userblock.json`: the datasets of `userblock.h5`, a file with a 1 KiB user block before the superblock.
    struct UserBlockFixture: Decodable {
        var datasets: [String: ExpectedFixture.Dataset]
    }

    static let userBlockFile = hdf5Directory.appendingPathComponent("userblock.h5").path

    static func userBlockExpected() throws -> UserBlockFixture {
        let data = try Data(contentsOf: hdf5Directory.appendingPathComponent("userblock.json"))
        return try JSONDecoder().decode(UserBlockFixture.self, from: data)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var dataset: String
        var testDescription: String { "\(URL(fileURLWithPath: file).lastPathComponent): \(dataset)" }
    }

    static let cases: [Case] =
        ExpectedFixture.datasetNames.map { Case(file: datasetsFile, dataset: $0) }
        + (((try? userBlockExpected())?.datasets.keys.sorted()) ?? []).map { Case(file: userBlockFile, dataset: $0) }

    static func expected(_ c: Case) throws -> ExpectedFixture.Dataset {
        let datasets = c.file == datasetsFile ? try ExpectedFixture.load().datasets : try userBlockExpected().datasets
        return try #require(datasets[c.dataset])
    }

    @Test func bothFilesHaveDatasetsOfEachKind() throws {
        let all =
            try ExpectedFixture.load().datasets.values.map(\.storage)
            + (try Self.userBlockExpected().datasets.values.map(\.storage))
        #expect(all.contains { $0.isStoredAsTensor })
        #expect(all.contains { $0.layout == "chunked" })
        #expect(all.contains { $0.layout == "contiguous" && !$0.littleEndian })
        #expect(all.contains { $0.layout == "compact" })
        #expect(try Self.userBlockExpected().datasets.count == 3)
    }

    @Test("offsets and sizes agree with h5py", arguments: cases)
    func storedBytesAgreeWithH5py(_ c: Case) throws {
        let expected = try Self.expected(c)
        let file = try HDF5File(path: c.file)
        let stored = try file.storedBytes(c.dataset)
        let described = try file.describe(c.dataset)
        if expected.storage.isStoredAsTensor {
            let stored = try #require(stored, "h5py says contiguous, unfiltered, little-endian")
            #expect(stored.offset == expected.storage.offset)
            #expect(stored.count == expected.storage.storageSize)
            #expect(stored.shape == expected.shape)
            #expect(
                described.stored
                    == FileRange(path: c.file, member: c.dataset, offset: stored.offset, count: stored.count))
        } else {
            #expect(stored == nil)
            #expect(described.stored == nil)
        }
        #expect(described.dtype.rawValue == expected.dtype)
        #expect(described.shape == expected.shape)
    }

    @Test("bytes at the offset are the tensor's, and readTensor reads them", arguments: cases)
    func bytesAtTheOffsetAreTheTensor(_ c: Case) throws {
        let expected = try Self.expected(c)
        let dtype = try #require(DType(rawValue: expected.dtype))
        let bits = try littleEndianBytes(fromHexBits: expected.bits, width: dtype.byteSize)
        let file = try HDF5File(path: c.file)
        #expect(try file.readTensor(c.dataset).bytes == bits)
        guard let stored = try file.storedBytes(c.dataset) else { return }
        let raw = try Data(contentsOf: URL(fileURLWithPath: c.file))
        #expect([UInt8](raw[stored.offset..<(stored.offset + stored.count)]) == bits)
    }
}
