import NumPyFormat
import TensorCore
import TestSupport
import Testing

/// `NPZArchive.header(named:)` describes a member exactly as decoding it would, stored or deflated.
@Suite struct HeaderOnlyTests {
    @Test(arguments: ["params_stored.npz", "params_deflated.npz"])
    func headerMatchesTheDecodedMember(_ file: String) throws {
        let archive = try NPZArchive(path: fixture("readers/npy/\(file)").path)
        #expect(!archive.names.isEmpty)
        for name in archive.names {
            let header = try archive.header(named: name)
            let tensor = try archive.tensor(named: name)
            #expect(header.dtype == tensor.dtype, "\(name)")
            #expect(header.shape == tensor.shape, "\(name)")
        }
        #expect(throws: NPYError.memberNotFound(path: archive.path, name: "nope")) { try archive.header(named: "nope") }
    }
}
