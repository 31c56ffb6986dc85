import Foundation
import HDF5Kit
import TensorCore
import TestSupport
import Testing

@testable import Importers

/// The isolation child's catalog of an HDF5 file: what it reads from real Keras files, and how the parent refuses a
/// catalog that does not hold (the parent then reads the file with libhdf5 itself).
@Suite struct HDF5CatalogTests {
    static let kerasFiles = ["keras/cnn/model.h5", "keras/nested/model.h5", "keras/mlp_bn_variants/model.h5"]

    static func catalog(_ relativePath: String) throws -> (HDF5Catalog, Int) {
        let path = fixture(relativePath).path
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let catalog = try #require(try HDF5Isolation.exercise(path: path) { _ in })
        return (catalog, size)
    }

    @Test(arguments: kerasFiles)
    func roundTripsAndHoldsWhatLibHDF5Says(_ relativePath: String) throws {
        let (catalog, size) = try Self.catalog(relativePath)
        #expect(HDF5Catalog.decode(catalog.encoded(), fileSize: size) == catalog)
        let file = try HDF5File(path: fixture(relativePath).path)
        #expect(Set(try file.datasetPaths()) == Set(catalog.datasets.keys))
        for (path, dataset) in catalog.datasets {
            let described = try file.describe(path)
            #expect(described.dtype == dataset.dtype && described.shape == dataset.shape)
            #expect(described.stored.map { $0.offset..<($0.offset + $0.count) } == dataset.stored)
        }
        #expect(catalog.attributes["/"]?.strings["model_config"]?.count == 1)
    }

    /// Every way a catalog can fail to hold: cut short, longer than it says, for another file size, a range past the
    /// end of the file or of another length than its tensor, a count larger than the bytes that follow.
    @Test(arguments: kerasFiles)
    func refusesWhatDoesNotHold(_ relativePath: String) throws {
        let (catalog, size) = try Self.catalog(relativePath)
        let bytes = catalog.encoded()
        #expect(HDF5Catalog.decode(Array(bytes.dropLast()), fileSize: size) == nil)
        #expect(HDF5Catalog.decode(bytes + [0], fileSize: size) == nil)
        #expect(HDF5Catalog.decode(bytes, fileSize: size - 1) == nil)
        #expect(HDF5Catalog.decode([], fileSize: size) == nil)

        let (name, dataset) = try #require(catalog.datasets.first { $0.value.stored != nil })
        let stored = try #require(dataset.stored)
        for lie in [stored.lowerBound..<(size + 1), (size - stored.count + 1)..<(size + 1), stored.dropLast()] {
            var lying = catalog
            lying.datasets[name]?.stored = lie
            #expect(HDF5Catalog.decode(lying.encoded(), fileSize: size) == nil, "\(lie)")
        }
        var huge = catalog
        huge.datasets[name]?.shape = [Int.max / 2, 4]
        #expect(HDF5Catalog.decode(huge.encoded(), fileSize: size) == nil)
        // The group count claims more groups than the bytes after it could hold.
        var counted = bytes
        let countOffset = "tfparity-hdf5-catalog-1\n".utf8.count + 8
        counted[countOffset + 6] = 0x7f
        #expect(HDF5Catalog.decode(counted, fileSize: size) == nil)
    }
}
