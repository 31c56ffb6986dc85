import Foundation
import HDF5Kit
import Synchronization
import TensorCore

/// Guarding the process against libhdf5 itself.
///
/// libhdf5 (Debian ships 1.10) is C code that still crashes, loops or allocates without bound on some crafted
/// files; a crash there would take the whole tool down with no `error:` line. So before an untrusted HDF5 file is
/// opened in-process, `probe` is called with its path: the CLI sets it to run `exercise(path:)` in a child process
/// under a memory limit and a timeout, and turns a crash, a hang or a blow-up there into an input error. The library
/// never starts processes itself; with no probe set (tests, library users) files are opened directly.
public enum HDF5Isolation {
    private static let hook = Mutex<(@Sendable (String) throws -> Void)?>(nil)

    /// Called with the path of every HDF5 file before it is opened; throws an `InputError` to refuse the file.
    public static var probe: (@Sendable (String) throws -> Void)? {
        get { hook.withLock { $0 } }
        set { hook.withLock { $0 = newValue } }
    }

    /// Paths already probed successfully in this process: each file is exercised once, however often it is opened.
    private static let cleared = Mutex<Set<String>>([])

    /// Runs `probe`, if one is set, on `path` (once per path).
    static func check(_ path: String) throws {
        guard let probe, !cleared.withLock({ $0.contains(path) }) else { return }
        try probe(path)
        cleared.withLock { _ = $0.insert(path) }
    }

    /// Runs `probe` on a private file that stands for `name` (the weights extracted from a `.keras` zip): errors name
    /// `name`, the archive member, not that file.
    static func check(_ path: String, as name: String) throws {
        do {
            try check(path)
        } catch let error as InputError {
            throw FileError(path: name, member: error.member, reason: error.reason)
        }
    }

    /// A dataset libhdf5 failed to read during `exercise`.
    public struct ReadFailure: Error, Sendable, Equatable {
        public var dataset: String
        public var reason: String
    }

    /// Opens `path` and reads every dataset's metadata, and the data of every dataset libhdf5 has to decode (chunked,
    /// filtered, converted), through `HDF5File`, as a convert or verify would.
    ///
    /// Meant to run in the isolated child. Files, datasets and types HDF5Kit refuses by policy (not HDF5, external
    /// links or storage, unsupported types, sizes over the limits) are not failures here: the in-process read refuses
    /// them with its own message. Only a failing `H5Dread` (corrupt data, or libhdf5 running out of the memory the
    /// child was allowed) is reported.
    ///
    /// - Parameter beforeReading: called once metadata is read and before any data is, with the largest number of
    ///   bytes a dataset will be read into, so the caller can size a memory limit.
    /// - Throws: `ReadFailure` for the first dataset libhdf5 could not read.
    public static func exercise(path: String, beforeReading: (Int) -> Void) throws(ReadFailure) {
        guard let file = try? HDF5File(path: path) else { return }
        // Past links libhdf5 fails on: a Keras reader opens groups and datasets by path, never walking the file, so
        // a file whose walk fails may still have its objects read by the parent (FuzzHDF5Probe).
        let (datasets, groups) = file.reachableObjects()
        var largest = 0
        // Contiguous datasets stored as their tensors are read by offset, never through libhdf5 (`HDF5File` does
        // the same in the parent), so only the others have data of libhdf5's to exercise.
        var decoded: [String] = []
        for dataset in datasets {
            guard let (dtype, shape, stored) = try? file.describe(dataset) else { continue }
            if stored != nil { continue }
            decoded.append(dataset)
            var bytes = dtype.byteSize
            for dimension in shape {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: max(dimension, 0))
                bytes = overflow ? Int.max : product
            }
            if bytes <= file.limits.maxTensorBytes { largest = max(largest, bytes) }
        }
        // Attributes too: Keras sources read `model_config`, `layer_names`, `weight_names` from the root and groups
        // (never from datasets), groups without datasets included.
        for group in groups {
            for name in (try? file.attributeNames(at: group)) ?? [] {
                if (try? file.stringArrayAttribute(name, at: group)) == nil {
                    _ = try? file.numericAttribute(name, at: group)
                }
            }
        }
        beforeReading(largest)
        for dataset in decoded {
            do {
                _ = try file.readTensor(dataset)
            } catch .readFailed(_, let dataset, let detail) {
                throw ReadFailure(dataset: dataset, reason: detail)
            } catch {
                continue
            }
        }
    }
}
