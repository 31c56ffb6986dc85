import Foundation
import HDF5Kit
import TensorCore
import TestSupport
import Testing

@testable import Importers

/// The pure-Swift HDF5 metadata reader: for every HDF5 fixture, the catalog it makes is the one the isolation child
/// makes through libhdf5 (`HDF5Isolation.exercise`), or it hands the file back to libhdf5; it never traps on a
/// damaged file.
@Suite struct HDF5MetadataReaderTests {
    /// Every `.h5`/`.hdf5` file under Fixtures/, relative to it.
    static let hdf5Files: [String] = {
        let root = fixture("")
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        var files: [String] = []
        while let url = walker?.nextObject() as? URL {
            guard ["h5", "hdf5"].contains(url.pathExtension) else { continue }
            files.append(String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1)))
        }
        return files.sorted()
    }()

    /// Files the reader hands to libhdf5, and what it meets there: structures h5py and Keras do not write, or damage.
    static let unsupported: [String: String] = [
        "corpus/h5-chunk-bomb.h5": "filtered or without a layout",
        "corpus/h5-compound-type.h5": "datatype class 6",
        "corpus/h5-external-link.h5": "message type 10",
        "corpus/h5-external-storage.h5": "message type 7",
        "corpus/h5-keras-unwalkable-link-crash.h5": "too large",
        "corpus/h5-keras-unwalkable-link-hang.h5": "link name outside its heap",
        "corpus/h5-keras3-weights-unwalkable-link-crash.weights.h5": "too large",
        "corpus/h5-libhdf5-crash-global-heap.h5": "global heap object past its collection",
        "corpus/h5-not-hdf5.h5": "no HDF5 signature",
        "corpus/h5-plugin-filter.h5": "filtered or without a layout",
        "corpus/h5-reference-type.h5": "datatype class 7",
        "corpus/h5-sparse-bomb.h5": "filtered or without a layout",
        "corpus/h5-truncated-superblock.h5": "truncated",
        "corpus/h5-virtual-dataset.h5": "not contiguous",
        "corpus/h5-vlen-type.h5": "not a string",
        "corpus/recording-deep-groups.h5": "superblock version 3",
        "readers/hdf5/datasets.h5": "not a little-endian standard one",
        "readers/hdf5/external_link.h5": "message type 2",
        "readers/hdf5/not_hdf5.h5": "no HDF5 signature",
        "readers/hdf5/refused.h5": "datatype class 10",
        "readers/hdf5/truncated.h5": "end of addresses",
        "readers/hdf5/userblock.h5": "not a little-endian standard one",
    ]

    @Test func findsTheFixtures() {
        #expect(Self.hdf5Files.count > 40)
        #expect(Self.hdf5Files.contains("keras/cnn/model.h5"))
    }

    @Test(arguments: hdf5Files)
    func catalogIsLibHDF5sOrUnsupported(_ relativePath: String) throws {
        let path = fixture(relativePath).path
        switch HDF5MetadataReader.catalog(path: path) {
        case .success(let catalog):
            #expect(Self.unsupported[relativePath] == nil, "read a file expected unsupported")
            // Only files the reader read are given to libhdf5 in-process: the unsupported ones include crashers.
            let libhdf5 = try #require(try HDF5Isolation.exercise(path: path) { _ in })
            #expect(catalog == libhdf5)
        case .failure(let unsupported):
            let expected = try #require(Self.unsupported[relativePath], "unsupported: \(unsupported)")
            #expect(unsupported.description.contains(expected), "\(unsupported)")
        }
    }

    /// Truncations and byte mutations of Keras files: each gives a catalog or `HDF5Unsupported`, never a trap or a
    /// hang (the mutants are read in-process, so a trap would fail the whole run).
    @Test(arguments: ["keras/cnn/model.h5", "keras/mixed_float16/model.h5", "keras/nested/model.h5"])
    func damagedFilesGiveACatalogOrUnsupported(_ relativePath: String) throws {
        let original = try [UInt8](Data(contentsOf: fixture(relativePath)))
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("mutant.h5").path
        var generator = SplitMix64(seed: 20)
        var read = 0
        for round in 0..<400 {
            var bytes = original
            if round % 10 == 0 {
                bytes.removeLast(Int.random(in: 1..<bytes.count, using: &generator))
            } else {
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    let at = Int.random(in: 0..<bytes.count, using: &generator)
                    // Mostly metadata (the first few KiB), where a flip changes what is read.
                    let place = Bool.random(using: &generator) ? at % min(bytes.count, 8192) : at
                    bytes[place] = [0x00, 0xFF, 0x7F, 0x80, UInt8.random(in: 0...255, using: &generator)]
                        .randomElement(using: &generator)!
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            if case .success = HDF5MetadataReader.catalog(path: path) { read += 1 }
        }
        #expect(read > 0)
    }
}
