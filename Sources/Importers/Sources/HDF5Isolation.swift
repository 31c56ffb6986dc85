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
    private static let hook = Mutex<(@Sendable (String) throws -> HDF5Catalog?)?>(nil)

    /// Called with the path of every HDF5 file before it is opened; throws an `InputError` to refuse the file, returns
    /// what the child read (its catalog, untrusted and already decoded defensively), or nil when it handed over none.
    public static var probe: (@Sendable (String) throws -> HDF5Catalog?)? {
        get { hook.withLock { $0 } }
        set { hook.withLock { $0 = newValue } }
    }

    /// What identifies a file's contents for as long as the catalog of it is used: device, inode, size, modification
    /// time (`fstat`).
    struct FileIdentity: Equatable, Sendable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int
        var modifiedNanoseconds: Int
    }

    /// A path probed successfully: its catalog (when the probe handed one over) and the file's identity taken before
    /// the probe started; or a path whose catalog the pure-Swift reader made, not yet probed (`exercised` false).
    private struct Cleared {
        var catalog: HDF5Catalog?
        var identity: FileIdentity?
        var exercised = true
    }

    private static let nativeReader = Mutex(true)

    /// Whether `catalog(_:)` first tries the pure-Swift reader (`HDF5MetadataReader`); on unless the CLI turns it off
    /// (`TFPARITY_HDF5_NATIVE=0`, for measuring the libhdf5 path).
    public static var readsNatively: Bool {
        get { nativeReader.withLock { $0 } }
        set { nativeReader.withLock { $0 = newValue } }
    }

    /// The catalog of `path` for planning from it: made in-process by the pure-Swift reader when it reads the whole
    /// file, which then needs neither libhdf5 nor the isolation child (`check` probes it later, before libhdf5 is
    /// given the file); otherwise `check`'s, the child's.
    @discardableResult
    static func catalog(_ path: String) throws -> HDF5Catalog? {
        if let known = cleared.withLock({ $0[path] }) { return known.catalog }
        if readsNatively, let before = identity(ofPath: path),
            case .success(let catalog) = HDF5MetadataReader.catalog(path: path)
        {
            cleared.withLock { $0[path] = Cleared(catalog: catalog, identity: before, exercised: false) }
            return catalog
        }
        return try check(path)
    }

    /// Paths already probed successfully in this process: each file is exercised once, however often it is opened.
    private static let cleared = Mutex<[String: Cleared]>([:])

    /// Runs `probe`, if one is set, on `path` (once per path, a path the pure-Swift reader read included: before libhdf5
    /// opens it); returns the probe's catalog of the file.
    @discardableResult
    static func check(_ path: String) throws -> HDF5Catalog? {
        guard let probe else { return nil }
        if let known = cleared.withLock({ $0[path] }), known.exercised { return known.catalog }
        // Taken before the child reads the file, so a file changed after it would not match (`HDF5Metadata`).
        let before = identity(ofPath: path)
        let catalog = try probe(path)
        cleared.withLock { $0[path] = Cleared(catalog: catalog, identity: before) }
        return catalog
    }

    /// The identity `path` had when it was probed.
    static func identity(_ path: String) -> FileIdentity? {
        cleared.withLock { $0[path]?.identity }
    }

    static func identity(of descriptor: Int32) -> FileIdentity? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        return FileIdentity(
            device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: Int64(status.st_size),
            modified: Int(status.st_mtim.tv_sec), modifiedNanoseconds: Int(status.st_mtim.tv_nsec))
    }

    private static func identity(ofPath path: String) -> FileIdentity? {
        guard case .success(let opened) = FileIO.openRegularFile(path) else { return nil }
        defer { close(opened.descriptor) }
        return identity(of: opened.descriptor)
    }

    /// Runs `probe` on a private file that stands for `name` (the weights extracted from a `.keras` zip): errors name
    /// `name`, the archive member, not that file.
    @discardableResult
    static func check(_ path: String, as name: String) throws -> HDF5Catalog? {
        do {
            return try check(path)
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
    /// - Returns: what was read (the catalog the parent plans from), or nil when libhdf5 would not open the file.
    /// - Throws: `ReadFailure` for the first dataset libhdf5 could not read.
    @discardableResult
    public static func exercise(path: String, beforeReading: (Int) -> Void) throws(ReadFailure) -> HDF5Catalog? {
        guard let file = try? HDF5File(path: path), case .success(let opened) = FileIO.openRegularFile(path) else {
            return nil
        }
        close(opened.descriptor)
        var catalog = HDF5Catalog(fileSize: opened.size)
        // Past links libhdf5 fails on: a Keras reader opens groups and datasets by path, never walking the file, so
        // a file whose walk fails may still have its objects read by the parent (FuzzHDF5Probe).
        let (datasets, groups) = file.reachableObjects()
        catalog.groups = Set(groups)
        var largest = 0
        // Contiguous datasets stored as their tensors are read by offset, never through libhdf5 (`HDF5File` does
        // the same in the parent), so only the others have data of libhdf5's to exercise.
        var decoded: [String] = []
        for dataset in datasets {
            guard let (dtype, shape, stored) = try? file.describe(dataset) else { continue }
            catalog.datasets[dataset] = HDF5Catalog.Dataset(
                dtype: dtype, shape: shape, stored: stored.map { $0.offset..<($0.offset + $0.count) })
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
            let names = try? file.attributeNames(at: group)
            var attributes = HDF5Catalog.Attributes(names: Set(names ?? []), strings: [:])
            for name in names ?? [] {
                if let strings = try? file.stringArrayAttribute(name, at: group) {
                    attributes.strings[name] = strings
                } else if let values = try? file.numericAttribute(name, at: group), values.isEmpty {
                    attributes.emptyNumeric.insert(name)
                }
            }
            if names != nil { catalog.attributes[group] = attributes }
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
        return catalog
    }
}
