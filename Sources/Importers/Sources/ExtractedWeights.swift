import Foundation
import HDF5Kit
import NumPyFormat
import TensorCore

/// The `model.weights.h5` of a `.keras` archive, extracted to a private temporary file and opened there.
///
/// libhdf5 needs a file (or a copy of the whole image in memory); extracting a stored member is a block-by-block copy,
/// so a `.keras` file converts in the memory of one tensor like a `.h5`, and its weights are copied file to file from
/// the extraction. The file (mode 0600, registered with `TemporaryFiles` for SIGINT/SIGTERM, `flock`-held while in use)
/// is removed when this object goes away: plans that read from it keep it (`ModelPlan.retained`). One a killed run
/// left behind is removed by the next extraction.
final class ExtractedWeights {
    let file: HDF5File
    /// What errors call the weights: `model.keras: model.weights.h5`.
    let name: String
    private let temporaryPath: String
    /// Open for the object's life, holding the lock that tells a later run this file is in use.
    private let descriptor: Int32
    private static let prefix = "tfparity-extracted-"

    /// Extracts `member` of `archive` and opens it as HDF5, after the isolation probe has read it.
    init(_ archive: ZipArchive, member: String) throws {
        name = "\(archive.path): \(member)"
        let directory = FileManager.default.temporaryDirectory.path
        TemporaryFiles.removeAbandoned(prefix: Self.prefix, in: directory)
        temporaryPath = directory + "/" + Self.prefix + UUID().uuidString + ".weights.h5"
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw FileError(
                path: name, reason: "cannot extract to \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        // Shared, not exclusive: libhdf5 takes its own shared lock when it opens the file. A later run's
        // `removeAbandoned` asks for an exclusive one, which this refuses.
        _ = flock(descriptor, LOCK_SH | LOCK_NB)
        TemporaryFiles.register(temporaryPath)
        do {
            let name = name
            try archive.extract(member, to: descriptor, destinationName: temporaryPath) { start in
                // A weights file that does not start as HDF5 is refused before the rest of it is inflated.
                guard Self.startsAsHDF5(start) else { throw HDF5Error.notHDF5(path: name) }
            }
            try HDF5Isolation.check(temporaryPath, as: name)
            file = try HDF5File(path: temporaryPath, name: name)
        } catch {
            unlink(temporaryPath)
            TemporaryFiles.unregister(temporaryPath)
            close(descriptor)
            throw error
        }
    }

    /// Whether `bytes` hold the HDF5 signature at offset 0, 512, 1024, 2048, … (where a user block may move it).
    private static func startsAsHDF5(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let signature = SourceDetection.hdf5Signature
        var offset = 0
        while offset + signature.count <= bytes.count {
            if bytes[offset..<(offset + signature.count)].elementsEqual(signature) { return true }
            offset = offset == 0 ? 512 : offset * 2
        }
        // A first block too short to hold the signature: libhdf5 will say what is wrong with it.
        return bytes.count < signature.count
    }

    deinit {
        unlink(temporaryPath)
        TemporaryFiles.unregister(temporaryPath)
        close(descriptor)
    }
}
