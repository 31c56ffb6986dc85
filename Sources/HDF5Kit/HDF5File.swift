import CHDF5
import Foundation
import TensorCore

/// Caps on what a dataset may make us allocate, checked before any read.
///
/// A dataset's size comes from the file, so a small or hostile file could ask for gigabytes; a
/// gzip-filtered one can legitimately expand far beyond its stored size, but not without bound.
public struct HDF5ReadLimits: Sendable, Equatable {
    /// No dataset larger than this is read, whatever the file.
    public var maxTensorBytes: Int
    /// Datasets up to this size are read even when larger than the file (unallocated data reads as fill values).
    public var alwaysAllowedBytes: Int
    /// A filtered (compressed) dataset may be at most this many times the file's size.
    public var maxFilteredExpansion: Int

    public init(maxTensorBytes: Int = 4 << 30, alwaysAllowedBytes: Int = 64 << 20, maxFilteredExpansion: Int = 1024) {
        self.maxTensorBytes = maxTensorBytes
        self.alwaysAllowedBytes = alwaysAllowedBytes
        self.maxFilteredExpansion = maxFilteredExpansion
    }

    public static let `default` = HDF5ReadLimits()
}

/// An HDF5 file opened read-only, read as tensors and attributes.
///
/// Paths inside the file are `/`-separated, with or without a leading slash (`layer0/bn/gamma`).
/// External links are never followed, filter plugins are never loaded, and datasets whose raw data
/// lives outside the file (external storage, virtual datasets) are refused.
public final class HDF5File {
    /// The file as the caller named it; every error carries it.
    public let path: String
    /// The file on disk (`path` unless the file was opened under another name).
    private let filePath: String
    public let limits: HDF5ReadLimits
    private let file: HDF5Handle
    /// Link access properties used for every look-up: its external-link callback refuses traversal, so
    /// even a soft link that leads through an external link cannot open another file.
    private let linkAccess: HDF5Handle
    private let fileSize: Int
    /// Paths whose every link `checkLinks` has found present and internal (the file is read-only, so they stay so).
    private var checkedPaths: Set<String> = []
    /// The file opened for reading datasets by offset, without libhdf5 (see `storedBytes`); this object owns it.
    private let descriptor: Int32

    /// Opens `path` read-only (`H5Fopen` with `H5F_ACC_RDONLY`).
    ///
    /// - Parameter name: what errors call the file when it is not what the user named (a `.keras` archive's weights
    ///   extracted to a private file: `model.keras: model.weights.h5`); `path` otherwise.
    /// - Throws: `HDF5Error.fileNotFound`, `.notHDF5` when the file has no HDF5 signature
    ///   (`H5Fis_hdf5`), `.openFailed` with HDF5's error text when it is damaged or truncated.
    public init(path filePath: String, limits: HDF5ReadLimits = .default, name: String? = nil) throws(HDF5Error) {
        let path = name ?? filePath
        self.path = path
        self.filePath = filePath
        self.limits = limits
        // Opened first, without blocking, so a FIFO or a device is refused before libhdf5 (which would block in
        // `open` on a FIFO) is given the name.
        switch FileIO.openRegularFile(filePath) {
        case .success(let opened): descriptor = opened.descriptor
        case .failure(let failure) where failure.number == ENOENT || failure.number == EISDIR:
            throw .fileNotFound(path: path)
        case .failure(let failure):
            throw .operationFailed(path: path, object: nil, detail: failure.reason)
        }
        if let failure = HDF5Library.failure {
            close(descriptor)
            throw .openFailed(path: path, detail: failure)
        }
        do {
            let signature = try HDF5Call.status("H5Fis_hdf5") { hdf5.H5Fis_hdf5(filePath) }
            if signature == 0 { throw HDF5Error.notHDF5(path: path) }
            let file = try HDF5Call.open(.file, "H5Fopen") {
                hdf5.H5Fopen(filePath, tfp_H5F_ACC_RDONLY(), tfp_H5P_DEFAULT())
            }
            (self.file, self.linkAccess, self.fileSize) = try Self.finishOpening(file)
        } catch let error as HDF5Error {
            close(descriptor)
            throw error
        } catch let failure as HDF5CallFailure {
            close(descriptor)
            throw .openFailed(path: path, detail: failure.detail)
        } catch {
            close(descriptor)
            throw .openFailed(path: path, detail: "\(error)")
        }
    }

    deinit {
        close(descriptor)
    }

    /// The link-access list that refuses external links, and the file's size.
    private static func finishOpening(_ file: HDF5Handle) throws(HDF5CallFailure) -> (HDF5Handle, HDF5Handle, Int) {
        let linkAccess = try HDF5Call.open(.propertyList, "H5Pcreate") { hdf5.H5Pcreate(tfp_H5P_LINK_ACCESS()) }
        let refuseTraversal: H5L_elink_traverse_t = { _, _, _, _, _, _, _ in -1 }
        try HDF5Call.status("H5Pset_elink_cb") { hdf5.H5Pset_elink_cb(linkAccess.id, refuseTraversal, nil) }
        var size: hsize_t = 0
        try HDF5Call.status("H5Fget_filesize") { hdf5.H5Fget_filesize(file.id, &size) }
        return (file, linkAccess, Int(clamping: size))
    }

    // MARK: Listing

    /// Every dataset reachable through hard links, depth first in name order, `/`-joined without a
    /// leading slash (`layer0/bn/gamma`). Soft links are skipped (they name objects listed elsewhere);
    /// a group reached twice through hard links is listed once.
    ///
    /// - Throws: `HDF5Error.externalLink` when the file contains an external link.
    public func datasetPaths() throws(HDF5Error) -> [String] {
        try withContext(object: nil, onFailure: operationFailed(nil)) {
            var paths: [String] = []
            var groups: [String] = []
            var visited: Set<haddr_t> = [try objectInfo("/", in: file).addr]
            try collectObjects(datasets: &paths, groups: &groups, visited: &visited, tolerant: false)
            return paths
        }
    }

    /// Every dataset and group (the root as `/`) the walk of `datasetPaths()` reaches, going past what libhdf5 fails
    /// on (a link it cannot iterate, inspect or open; a group nested too deep; an external link, never followed)
    /// instead of stopping there: what a reader opening objects by path may still reach in a damaged file, for the
    /// isolation child to exercise before the parent opens any of it.
    public func reachableObjects() -> (datasets: [String], groups: [String]) {
        var datasets: [String] = []
        var groups = ["/"]
        guard let root = try? objectInfo("/", in: file) else { return ([], groups) }
        var visited: Set<haddr_t> = [root.addr]
        try? collectObjects(datasets: &datasets, groups: &groups, visited: &visited, tolerant: true)
        return (datasets, groups)
    }

    /// The names of the links in the group at `groupPath` (`H5Literate`), in name order.
    public func groupMembers(_ groupPath: String = "/") throws(HDF5Error) -> [String] {
        try withContext(object: groupPath, onFailure: operationFailed(groupPath)) {
            let group = try openObject(groupPath)
            guard group.kind == .group else {
                throw HDF5Error.operationFailed(path: path, object: groupPath, detail: "is not a group")
            }
            return try links(in: group).map(\.name)
        }
    }

    /// Whether a dataset or group exists at `objectPath` without crossing an external link.
    public func exists(_ objectPath: String) -> Bool {
        guard (try? checkLinks(objectPath)) != nil else { return false }
        let name = Self.hdf5Name(objectPath)
        let found = try? HDF5Call.status("H5Oexists_by_name") { hdf5.H5Oexists_by_name(file.id, name, linkAccess.id) }
        return (found ?? 0) > 0
    }

    // MARK: Datasets

    /// The element type and shape of a dataset (a scalar has shape `[]`), without reading it.
    public func datasetInfo(_ datasetPath: String) throws(HDF5Error) -> (dtype: DType, shape: [Int]) {
        try withContext(object: datasetPath, onFailure: operationFailed(datasetPath)) {
            let dataset = try openDataset(datasetPath)
            let fileType = try HDF5Call.open(.datatype, "H5Dget_type") { hdf5.H5Dget_type(dataset.id) }
            let space = try HDF5Call.open(.dataspace, "H5Dget_space") { hdf5.H5Dget_space(dataset.id) }
            let mapping = try ElementType.mapping(for: fileType)
            return (mapping.dtype, try shape(of: space, object: datasetPath))
        }
    }

    /// Where a dataset's bytes lie in the file, when they are exactly the tensor `readTensor` returns: contiguous
    /// layout, no filters, allocated, wholly inside the file, and stored in the little-endian type the tensor has
    /// (`H5Tequal` with the memory type, so no conversion is involved). Nil otherwise: then only `H5Dread` can read
    /// the dataset. Offsets count from the start of the file, user block included.
    public func storedBytes(_ datasetPath: String) throws(HDF5Error) -> StoredBytes? {
        let dataset = try withContext(object: datasetPath, onFailure: operationFailed(datasetPath)) {
            try openDataset(datasetPath)
        }
        return try withContext(object: datasetPath, onFailure: operationFailed(datasetPath)) {
            try layout(of: dataset, datasetPath).stored
        }
    }

    /// A dataset's element type and shape, and where its bytes lie when they can be copied as they are: what
    /// `datasetInfo` and `storedBytes` say, from one opening of the dataset.
    public func describe(_ datasetPath: String) throws(HDF5Error) -> (dtype: DType, shape: [Int], stored: FileRange?) {
        let dataset = try withContext(object: datasetPath, onFailure: operationFailed(datasetPath)) {
            try openDataset(datasetPath)
        }
        return try withContext(object: datasetPath, onFailure: operationFailed(datasetPath)) {
            let layout = try layout(of: dataset, datasetPath)
            let range = layout.stored.map {
                FileRange(path: filePath, member: datasetPath, offset: $0.offset, count: $0.count, displayPath: path)
            }
            return (layout.mapping.dtype, layout.shape, range)
        }
    }

    /// Where a dataset's bytes lie in the file, and the tensor they are.
    public struct StoredBytes: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        /// Byte offset from the start of the file.
        public var offset: Int
        public var count: Int
    }

    /// What a dataset holds and how it is stored, read once for `describe`, `storedBytes` and `readTensor`.
    private struct Layout {
        let mapping: ElementMapping
        let shape: [Int]
        /// Compressed or otherwise filtered: only `H5Dread` can decode it.
        let filtered: Bool
        /// Set when the bytes in the file are the tensor's (see `storedBytes`).
        let stored: StoredBytes?
    }

    /// The dataset's type, shape and storage; refuses storage outside the file (virtual, external).
    private func layout(of dataset: HDF5Handle, _ datasetPath: String) throws -> Layout {
        let fileType = try HDF5Call.open(.datatype, "H5Dget_type") { hdf5.H5Dget_type(dataset.id) }
        let space = try HDF5Call.open(.dataspace, "H5Dget_space") { hdf5.H5Dget_space(dataset.id) }
        let mapping = try ElementType.mapping(for: fileType)
        let shape = try shape(of: space, object: datasetPath)
        let creation = try HDF5Call.open(.propertyList, "H5Dget_create_plist") { hdf5.H5Dget_create_plist(dataset.id) }
        let filtered = try checkStorage(creation, datasetPath)
        func stored() throws -> StoredBytes? {
            guard !filtered, hdf5.H5Pget_layout(creation.id) == H5D_CONTIGUOUS,
                try HDF5Call.status("H5Tequal", { hdf5.H5Tequal(fileType.id, mapping.memoryType.id) }) > 0,
                let count = Shape.byteCount(shape, dtype: mapping.dtype), count > 0
            else { return nil }
            let address = hdf5.H5Dget_offset(dataset.id)
            guard address != haddr_t.max, let offset = Int(exactly: address),
                hdf5.H5Dget_storage_size(dataset.id) == count, offset <= fileSize, count <= fileSize - offset
            else { return nil }
            return StoredBytes(dtype: mapping.dtype, shape: shape, offset: offset, count: count)
        }
        return Layout(mapping: mapping, shape: shape, filtered: filtered, stored: try stored())
    }

    /// Reads a whole dataset into a little-endian C-order tensor.
    ///
    /// Datasets whose bytes are the tensor's (`storedBytes`) are read straight from the file with `pread`; the others
    /// through `H5Dread`, which converts big-endian data and decodes gzip/shuffle filters. Before allocating, the size
    /// is checked against `limits`.
    /// - Throws: `HDF5Error` naming this file and `datasetPath`: `.noSuchObject`, `.notDataset`,
    ///   `.externalLink`, `.unsupportedType`, `.unsupportedStorage`, `.tooLarge`, `.readFailed`.
    public func readTensor(_ datasetPath: String) throws(HDF5Error) -> Tensor {
        let dataset = try withContext(object: datasetPath, onFailure: operationFailed(datasetPath)) {
            try openDataset(datasetPath)
        }
        return try withContext(object: datasetPath, onFailure: readFailed(datasetPath)) {
            let layout = try layout(of: dataset, datasetPath)
            let (mapping, shape) = (layout.mapping, layout.shape)
            let byteCount = try checkedByteCount(shape, mapping.dtype, filtered: layout.filtered, object: datasetPath)
            if let stored = layout.stored {
                switch FileIO.read(descriptor, count: stored.count, at: stored.offset) {
                case .success(let bytes): return Tensor(dtype: mapping.dtype, shape: shape, bytes: bytes)
                case .failure(let failure): throw HDF5CallFailure(function: "pread", messages: [failure.description])
                }
            }
            var bytes = [UInt8](repeating: 0, count: byteCount)
            if byteCount > 0 {
                try HDF5Call.status("H5Dread") {
                    bytes.withUnsafeMutableBytes { buffer in
                        hdf5.H5Dread(
                            dataset.id, mapping.memoryType.id, tfp_H5S_ALL(), tfp_H5S_ALL(), tfp_H5P_DEFAULT(),
                            buffer.baseAddress)
                    }
                }
            }
            return Tensor(dtype: mapping.dtype, shape: shape, bytes: bytes)
        }
    }

    // MARK: Attributes

    /// The names of the attributes of the object at `objectPath` (`H5Aiterate2`), in name order.
    public func attributeNames(at objectPath: String = "/") throws(HDF5Error) -> [String] {
        try withContext(object: objectPath, onFailure: operationFailed(objectPath)) {
            let object = try openObject(objectPath)
            let collector = NameCollector()
            let callback: H5A_operator2_t = { _, name, _, data in
                guard let name, let data else { return -1 }
                Unmanaged<NameCollector>.fromOpaque(data).takeUnretainedValue().names.append(String(cString: name))
                return 0
            }
            _ = try withExtendedLifetime(collector) { () throws(HDF5CallFailure) in
                try HDF5Call.status("H5Aiterate2") {
                    hdf5.H5Aiterate2(
                        object.id, H5_INDEX_NAME, H5_ITER_INC, nil, callback,
                        Unmanaged.passUnretained(collector).toOpaque())
                }
            }
            return collector.names
        }
    }

    /// A string attribute holding one string, fixed or variable length (Keras' `model_config`,
    /// `keras_version`, `backend`); `nil` when the object has no such attribute.
    public func stringAttribute(_ name: String, at objectPath: String = "/") throws(HDF5Error) -> String? {
        guard let strings = try stringArrayAttribute(name, at: objectPath) else { return nil }
        guard strings.count == 1, let string = strings.first else {
            throw .unsupportedAttribute(
                path: path, object: objectPath, attribute: name,
                description: "holds \(strings.count) strings, not one")
        }
        return string
    }

    /// A string attribute as an array (h5py's `layer_names`, an array of fixed-length byte strings); a
    /// scalar string gives one element; `nil` when the object has no such attribute.
    public func stringArrayAttribute(_ name: String, at objectPath: String = "/") throws(HDF5Error) -> [String]? {
        try withAttribute(name, at: objectPath) { attribute, fileType, space, count in
            try readStrings(attribute, fileType: fileType, space: space, count: count, name: name, objectPath)
        }
    }

    /// A numeric attribute's elements in C order, converted to `Double` by HDF5 (exact for floats and for
    /// integers up to 2^53); `nil` when the object has no such attribute.
    public func numericAttribute(_ name: String, at objectPath: String = "/") throws(HDF5Error) -> [Double]? {
        try withAttribute(name, at: objectPath) { attribute, fileType, _, count in
            let typeClass = hdf5.H5Tget_class(fileType.id)
            guard typeClass == H5T_INTEGER || typeClass == H5T_FLOAT else {
                throw HDF5Error.unsupportedAttribute(
                    path: path, object: objectPath, attribute: name,
                    description: "is a \(ElementType.name(of: typeClass)), not a number")
            }
            var values = [Double](repeating: 0, count: count)
            if count > 0 {
                try HDF5Call.status("H5Aread") {
                    values.withUnsafeMutableBytes {
                        hdf5.H5Aread(attribute.id, tfp_H5T_NATIVE_DOUBLE(), $0.baseAddress)
                    }
                }
            }
            return values
        }
    }

    /// A numeric or boolean attribute as a tensor, with the same element types as `readTensor`.
    public func attributeTensor(_ name: String, at objectPath: String = "/") throws(HDF5Error) -> Tensor? {
        try withAttribute(name, at: objectPath) { attribute, fileType, space, _ in
            let mapping: ElementMapping
            do {
                mapping = try ElementType.mapping(for: fileType)
            } catch let unsupported as UnsupportedElementType {
                throw HDF5Error.unsupportedAttribute(
                    path: path, object: objectPath, attribute: name,
                    description: "unsupported element type: \(unsupported.description)")
            }
            let shape = try shape(of: space, object: objectPath)
            let byteCount = try checkedByteCount(shape, mapping.dtype, filtered: false, object: objectPath)
            var bytes = [UInt8](repeating: 0, count: byteCount)
            if byteCount > 0 {
                try HDF5Call.status("H5Aread") {
                    bytes.withUnsafeMutableBytes { hdf5.H5Aread(attribute.id, mapping.memoryType.id, $0.baseAddress) }
                }
            }
            return Tensor(dtype: mapping.dtype, shape: shape, bytes: bytes)
        }
    }

    // MARK: Attribute helpers

    /// Opens attribute `name` of the object at `objectPath` (`H5Aexists`, `H5Aopen`) and hands it to
    /// `body` with its type, dataspace and element count; `nil` when there is no such attribute.
    private func withAttribute<T>(
        _ name: String, at objectPath: String,
        _ body: (HDF5Handle, HDF5Handle, HDF5Handle, Int) throws -> T
    ) throws(HDF5Error) -> T? {
        let object = try withContext(object: objectPath, onFailure: operationFailed(objectPath)) {
            try openObject(objectPath)
        }
        let failed = { (failure: HDF5CallFailure) in
            HDF5Error.attributeFailed(path: self.path, object: objectPath, attribute: name, detail: failure.detail)
        }
        return try withContext(object: objectPath, onFailure: failed) { () throws -> T? in
            let present = try HDF5Call.status("H5Aexists") { hdf5.H5Aexists(object.id, name) }
            guard present > 0 else { return nil }
            let attribute = try HDF5Call.open(.attribute, "H5Aopen") {
                hdf5.H5Aopen(object.id, name, tfp_H5P_DEFAULT())
            }
            let fileType = try HDF5Call.open(.datatype, "H5Aget_type") { hdf5.H5Aget_type(attribute.id) }
            let space = try HDF5Call.open(.dataspace, "H5Aget_space") { hdf5.H5Aget_space(attribute.id) }
            let count = try HDF5Call.status("H5Sget_simple_extent_npoints") {
                hdf5.H5Sget_simple_extent_npoints(space.id)
            }
            guard let elements = Int(exactly: count), elements <= limits.maxTensorBytes else {
                throw HDF5Error.tooLarge(path: path, dataset: objectPath, bytes: nil, limit: limits.maxTensorBytes)
            }
            return try body(attribute, fileType, space, elements)
        }
    }

    /// Reads a fixed- or variable-length string attribute's `count` elements.
    private func readStrings(
        _ attribute: HDF5Handle, fileType: HDF5Handle, space: HDF5Handle, count: Int, name: String,
        _ objectPath: String
    ) throws -> [String] {
        let typeClass = hdf5.H5Tget_class(fileType.id)
        guard typeClass == H5T_STRING else {
            throw HDF5Error.unsupportedAttribute(
                path: path, object: objectPath, attribute: name,
                description: "is a \(ElementType.name(of: typeClass)), not a string")
        }
        guard count > 0 else { return [] }
        if try HDF5Call.status("H5Tis_variable_str", { hdf5.H5Tis_variable_str(fileType.id) }) > 0 {
            // Variable length: HDF5 allocates each string; they are freed with H5Dvlen_reclaim.
            let memoryType = try ElementType.copy(tfp_H5T_C_S1())
            try HDF5Call.status("H5Tset_size") { hdf5.H5Tset_size(memoryType.id, tfp_H5T_VARIABLE()) }
            try HDF5Call.status("H5Tset_cset") { hdf5.H5Tset_cset(memoryType.id, hdf5.H5Tget_cset(fileType.id)) }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try HDF5Call.status("H5Aread") {
                pointers.withUnsafeMutableBytes { hdf5.H5Aread(attribute.id, memoryType.id, $0.baseAddress) }
            }
            defer {
                _ = pointers.withUnsafeMutableBytes {
                    hdf5.H5Dvlen_reclaim(memoryType.id, space.id, tfp_H5P_DEFAULT(), $0.baseAddress)
                }
            }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
        // Fixed length: `count` slots of `size` bytes, padded with NULs or spaces.
        let size = hdf5.H5Tget_size(fileType.id)
        guard size > 0, let total = Shape.elementCount([count, size]), total <= limits.maxTensorBytes else {
            throw HDF5Error.tooLarge(path: path, dataset: objectPath, bytes: nil, limit: limits.maxTensorBytes)
        }
        let memoryType = try HDF5Call.open(.datatype, "H5Tcopy") { hdf5.H5Tcopy(fileType.id) }
        var bytes = [UInt8](repeating: 0, count: total)
        try HDF5Call.status("H5Aread") {
            bytes.withUnsafeMutableBytes { hdf5.H5Aread(attribute.id, memoryType.id, $0.baseAddress) }
        }
        let spacePadded = hdf5.H5Tget_strpad(fileType.id) == H5T_STR_SPACEPAD
        return stride(from: 0, to: total, by: size).map { start in
            var slot = bytes[start..<(start + size)]
            if spacePadded {
                while slot.last == UInt8(ascii: " ") { slot.removeLast() }
            } else if let end = slot.firstIndex(of: 0) {
                slot = slot[..<end]
            }
            return String(decoding: slot, as: UTF8.self)
        }
    }

    // MARK: Datasets helpers

    /// Opens the dataset at `datasetPath`, refusing groups and other objects.
    private func openDataset(_ datasetPath: String) throws -> HDF5Handle {
        let object = try openObject(datasetPath)
        guard object.kind == .dataset else {
            throw HDF5Error.notDataset(
                path: path, object: datasetPath, kind: object.kind == .group ? "group" : "named datatype")
        }
        return object
    }

    /// Opens any object (`H5Oopen`) after checking no link on the way is external, and gives the handle
    /// the owner kind matching `H5Iget_type`, so it is closed with its own close function.
    private func openObject(_ objectPath: String) throws -> HDF5Handle {
        try checkLinks(objectPath)
        let name = Self.hdf5Name(objectPath)
        let id = try HDF5Call.identifier("H5Oopen") { hdf5.H5Oopen(file.id, name, linkAccess.id) }
        switch hdf5.H5Iget_type(id) {
        case H5I_GROUP: return HDF5Handle(.group, id)
        case H5I_DATASET: return HDF5Handle(.dataset, id)
        case H5I_DATATYPE: return HDF5Handle(.datatype, id)
        default:
            _ = hdf5.H5Oclose(id)
            throw HDF5Error.operationFailed(path: path, object: objectPath, detail: "is not a group or dataset")
        }
    }

    /// Walks `objectPath` one link at a time (`H5Lexists`, `H5Lget_info`) so a missing component is
    /// reported as missing and an external link is refused by name before anything follows it.
    private func checkLinks(_ objectPath: String) throws {
        guard !checkedPaths.contains(objectPath) else { return }
        var prefix = ""
        for component in objectPath.split(separator: "/") where component != "." {
            prefix += prefix.isEmpty ? String(component) : "/" + component
            let current = prefix
            if checkedPaths.contains(current) { continue }
            let present = try HDF5Call.status("H5Lexists") { hdf5.H5Lexists(file.id, current, linkAccess.id) }
            guard present > 0 else { throw HDF5Error.noSuchObject(path: path, object: objectPath) }
            var info = H5L_info_t()
            try HDF5Call.status("H5Lget_info") { hdf5.H5Lget_info(file.id, current, &info, linkAccess.id) }
            if info.type == H5L_TYPE_EXTERNAL {
                throw HDF5Error.externalLink(path: path, link: current, target: try externalTarget(current, in: file))
            }
            checkedPaths.insert(current)
        }
        checkedPaths.insert(objectPath)
    }

    /// `file:/object` for the external link `name` (`H5Lget_val`, `H5Lunpack_elink_val`).
    private func externalTarget(_ name: String, in location: HDF5Handle) throws -> String {
        var info = H5L_info_t()
        try HDF5Call.status("H5Lget_info") { hdf5.H5Lget_info(location.id, name, &info, linkAccess.id) }
        var value = [UInt8](repeating: 0, count: max(info.u.val_size, 1))
        try HDF5Call.status("H5Lget_val") { hdf5.H5Lget_val(location.id, name, &value, value.count, linkAccess.id) }
        var fileName: UnsafePointer<CChar>?
        var objectName: UnsafePointer<CChar>?
        try HDF5Call.status("H5Lunpack_elink_val") {
            hdf5.H5Lunpack_elink_val(&value, value.count, nil, &fileName, &objectName)
        }
        // The unpacked names point into `value`, still alive here.
        let file = fileName.map { String(cString: $0) } ?? "?"
        let object = objectName.map { String(cString: $0) } ?? "?"
        return "\(file):\(object)"
    }

    /// Refuses raw data outside the file; returns whether the dataset is filtered (compressed).
    private func checkStorage(_ creation: HDF5Handle, _ datasetPath: String) throws -> Bool {
        let layout = try HDF5Call.status("H5Pget_layout") { hdf5.H5Pget_layout(creation.id).rawValue }
        if layout == H5D_VIRTUAL.rawValue {
            throw HDF5Error.unsupportedStorage(
                path: path, dataset: datasetPath,
                description: "virtual dataset (its data is drawn from other datasets or files)")
        }
        let externalFiles = try HDF5Call.status("H5Pget_external_count") { hdf5.H5Pget_external_count(creation.id) }
        if externalFiles > 0 {
            throw HDF5Error.unsupportedStorage(
                path: path, dataset: datasetPath,
                description: "raw data stored in \(externalFiles) external file(s) outside the HDF5 file")
        }
        return try HDF5Call.status("H5Pget_nfilters") { hdf5.H5Pget_nfilters(creation.id) } > 0
    }

    /// The byte size of `shape` × `dtype`, refused when it overflows or exceeds `limits` for this file.
    private func checkedByteCount(_ shape: [Int], _ dtype: DType, filtered: Bool, object: String) throws -> Int {
        let fileBound = fileSize.multipliedReportingOverflow(by: filtered ? limits.maxFilteredExpansion : 1)
        let allowed = min(
            limits.maxTensorBytes, max(limits.alwaysAllowedBytes, fileBound.overflow ? .max : fileBound.partialValue))
        guard let bytes = Shape.byteCount(shape, dtype: dtype) else {
            throw HDF5Error.tooLarge(path: path, dataset: object, bytes: nil, limit: allowed)
        }
        guard bytes <= allowed else {
            throw HDF5Error.tooLarge(path: path, dataset: object, bytes: bytes, limit: allowed)
        }
        return bytes
    }

    /// The dimensions of a dataspace (`H5Sget_simple_extent_dims`); a scalar is `[]`.
    private func shape(of space: HDF5Handle, object: String) throws -> [Int] {
        switch hdf5.H5Sget_simple_extent_type(space.id) {
        case H5S_SCALAR:
            return []
        case H5S_NULL:
            throw HDF5Error.unsupportedStorage(path: path, dataset: object, description: "null dataspace (no data)")
        default:
            let rank = try HDF5Call.status("H5Sget_simple_extent_ndims") { hdf5.H5Sget_simple_extent_ndims(space.id) }
            var dimensions = [hsize_t](repeating: 0, count: Int(rank))
            try HDF5Call.status("H5Sget_simple_extent_dims") {
                hdf5.H5Sget_simple_extent_dims(space.id, &dimensions, nil)
            }
            return try dimensions.map { dimension in
                guard let value = Int(exactly: dimension) else {
                    throw HDF5Error.tooLarge(path: path, dataset: object, bytes: nil, limit: limits.maxTensorBytes)
                }
                return value
            }
        }
    }

    // MARK: Listing helpers

    /// Walks the groups from the root through hard links, depth first in name order, with an explicit stack of open
    /// groups, each opened relative to its parent (`H5Oopen` on the link's own name): every link is looked at once, so
    /// the walk takes time linear in the file's links however deep its groups nest (a walk that opens each group by
    /// its full path re-walks every level above it). At most `maximumGroupDepth` groups are open at a time.
    /// `tolerant` skips each link the walk cannot follow (see `reachableObjects()`) instead of throwing.
    private func collectObjects(
        datasets paths: inout [String], groups: inout [String], visited: inout Set<haddr_t>, tolerant: Bool
    ) throws {
        struct Frame {
            let path: String
            let group: HDF5Handle
            let links: [(name: String, type: H5L_type_t)]
            var next = 0
        }
        let root = try openObject("/")
        var stack = [Frame(path: "", group: root, links: try links(in: root, partial: tolerant))]
        while let top = stack.last {
            guard top.next < top.links.count else {
                stack.removeLast()
                continue
            }
            let link = top.links[top.next]
            stack[stack.count - 1].next += 1
            let fullPath = top.path.isEmpty ? link.name : top.path + "/" + link.name
            do {
                switch link.type {
                case H5L_TYPE_EXTERNAL:
                    throw HDF5Error.externalLink(
                        path: path, link: fullPath, target: try externalTarget(link.name, in: top.group))
                case H5L_TYPE_HARD:
                    let info = try objectInfo(link.name, in: top.group)
                    if info.type == H5O_TYPE_DATASET {
                        paths.append(fullPath)
                    } else if info.type == H5O_TYPE_GROUP, visited.insert(info.addr).inserted {
                        guard stack.count <= Self.maximumGroupDepth else {
                            throw HDF5Error.operationFailed(
                                path: path, object: fullPath,
                                detail: "groups nest more than \(Self.maximumGroupDepth) levels deep")
                        }
                        let id = try HDF5Call.identifier("H5Oopen") {
                            hdf5.H5Oopen(top.group.id, link.name, linkAccess.id)
                        }
                        let group = HDF5Handle(.group, id)
                        groups.append(fullPath)
                        stack.append(
                            Frame(path: fullPath, group: group, links: try links(in: group, partial: tolerant)))
                    }
                default:
                    // Soft and user-defined links name objects that hard links already reach, or nothing.
                    continue
                }
            } catch  where tolerant {
                continue
            }
        }
    }

    /// How deeply groups may nest below the root: far beyond any model file (a nested Keras model adds two or three
    /// levels), and a bound on the work and the lengths of the paths a hostile file can ask for.
    public static let maximumGroupDepth = 64

    /// Basic object information (`H5Oget_info_by_name2` with `H5O_INFO_BASIC`).
    private func objectInfo(_ name: String, in location: HDF5Handle) throws(HDF5CallFailure) -> H5O_info_t {
        var info = H5O_info_t()
        try HDF5Call.status("H5Oget_info_by_name2") {
            hdf5.H5Oget_info_by_name2(location.id, name, &info, UInt32(H5O_INFO_BASIC), linkAccess.id)
        }
        return info
    }

    /// The links of a group in name order (`H5Literate`); with `partial`, those listed before an iteration failure.
    private func links(in group: HDF5Handle, partial: Bool = false) throws(HDF5CallFailure)
        -> [(name: String, type: H5L_type_t)]
    {
        let collector = LinkCollector()
        let callback: H5L_iterate_t = { _, name, info, data in
            guard let name, let info, let data else { return -1 }
            Unmanaged<LinkCollector>.fromOpaque(data).takeUnretainedValue().links.append(
                (String(cString: name), info.pointee.type))
            return 0
        }
        do throws(HDF5CallFailure) {
            _ = try withExtendedLifetime(collector) { () throws(HDF5CallFailure) in
                try HDF5Call.status("H5Literate") {
                    hdf5.H5Literate(
                        group.id, H5_INDEX_NAME, H5_ITER_INC, nil, callback,
                        Unmanaged.passUnretained(collector).toOpaque())
                }
            }
        } catch {
            guard partial else { throw error }
        }
        return collector.links
    }

    // MARK: Errors

    /// A path as HDF5 names it from the file: `"/"` for the root, otherwise relative to it.
    private static func hdf5Name(_ objectPath: String) -> String {
        let trimmed = objectPath.drop(while: { $0 == "/" })
        return trimmed.isEmpty ? "/" : String(trimmed)
    }

    private func operationFailed(_ object: String?) -> (HDF5CallFailure) -> HDF5Error {
        { [path] failure in .operationFailed(path: path, object: object, detail: failure.detail) }
    }

    private func readFailed(_ dataset: String) -> (HDF5CallFailure) -> HDF5Error {
        { [path] failure in .readFailed(path: path, dataset: dataset, detail: failure.detail) }
    }

    /// Runs `body`, giving every error this file's path and `object`: HDF5 call failures through
    /// `onFailure`, refused element types as `.unsupportedType`.
    private func withContext<T>(
        object: String?, onFailure: (HDF5CallFailure) -> HDF5Error, _ body: () throws -> T
    ) throws(HDF5Error) -> T {
        do {
            return try body()
        } catch let error as HDF5Error {
            throw error
        } catch let unsupported as UnsupportedElementType {
            throw .unsupportedType(path: path, dataset: object ?? "/", description: unsupported.description)
        } catch let failure as HDF5CallFailure {
            throw onFailure(failure)
        } catch {
            throw .operationFailed(path: path, object: object, detail: "\(error)")
        }
    }
}

/// Gathers names during `H5Aiterate2`.
private final class NameCollector {
    var names: [String] = []
}

/// Gathers links during `H5Literate`.
private final class LinkCollector {
    var links: [(name: String, type: H5L_type_t)] = []
}
