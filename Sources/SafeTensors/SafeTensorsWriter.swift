import Foundation
import Synchronization
import TensorCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes safetensors files that the reference `safetensors` package and MLX read.
///
/// Tensors are laid out in the data area in the order given (the reference writer sorts by alignment and
/// name instead; readers do not care, and keeping the caller's order keeps files reproducible from the
/// model's layer order). The header lists `__metadata__` first, with keys sorted, then the tensors in the
/// same order, and is padded with spaces to a multiple of 8 bytes so every tensor starts 8-byte aligned
/// relative to the data area.
/// A tensor's name, element type and shape: what the header needs before any bytes are written.
public struct TensorLayout: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]

    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    /// Bytes of the tensor's data; shapes come from checked sources, so an overflow here is a bug.
    public var byteCount: Int {
        guard let count = Shape.byteCount(shape, dtype: dtype) else {
            preconditionFailure("tensor '\(name)' is too large")
        }
        return count
    }
}

public enum SafeTensorsWriter {
    /// Writes `tensors` and `metadata` to `path` atomically.
    ///
    /// The file is written to `.<name>.tmp-<random>` in the destination's directory, synced, re-read and
    /// checked with `SafeTensorsFile`, then renamed over `path`. On any failure the temporary file is removed
    /// and an existing file at `path` is left untouched. Tensor bytes are written one tensor at a time, never
    /// concatenated into one buffer.
    /// - Throws: `SafeTensorsError` naming `path`: `duplicateTensorName`, `reservedTensorName`,
    ///   `headerTooLarge` or `writeFailed`.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to path: String
    ) throws(SafeTensorsError) {
        let layout = tensors.map { TensorLayout(name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape) }
        do {
            try write(layout, metadata: metadata, to: path) { tensors[$0].tensor.bytes }
        } catch let error as SafeTensorsError {
            throw error
        } catch {
            preconditionFailure("tensor bytes in memory cannot fail to load: \(error)")
        }
    }

    /// Writes a file of the tensors `layout` describes, asking `contents` for each one's bytes in turn.
    ///
    /// This is the streaming form: the header is written from the layout alone, then each tensor's bytes are
    /// fetched, written and dropped, so the caller never holds more than one tensor. The result is re-read
    /// (header validated, data checksummed against what was written) before it is renamed into place.
    /// - Parameter contents: the bytes of `layout[index]`, little-endian, C order; may throw its own errors,
    ///   which are passed on unchanged after the temporary file is removed.
    /// - Throws: `SafeTensorsError` naming `path`, or whatever `contents` throws.
    public static func write(
        _ layout: [TensorLayout], metadata: [String: String] = [:], to path: String,
        contents: (_ index: Int) throws -> [UInt8]
    ) throws {
        try write(layout, metadata: metadata, to: path, streaming: { .bytes(try contents($0)) })
    }

    /// Where a tensor's bytes come from when a file is streamed.
    public enum TensorContents {
        /// Bytes in memory, written and dropped.
        case bytes([UInt8])
        /// Bytes of another file, exactly as they are to be stored: copied file to file in the kernel
        /// (`copy_file_range`) without passing through memory, or, from the `StreamedSource`, written from the window
        /// of it that is read once for everyone.
        case file(FileRange)
    }

    /// A source file read once, from start to end, while the tensors copied from it are written: each window of it is
    /// handed to `observe` (the provenance digest), and the bytes of the tensors that lie in that window are written
    /// from the same memory, then read back and compared with it. The digest is then of exactly the bytes copied, and
    /// the source is read once instead of once for the digest and once for the copies.
    public struct StreamedSource: Sendable {
        public var path: String
        /// Called on a thread of its own with consecutive windows of the whole file, in order; `write` returns only
        /// once it has seen the last.
        public var observe: @Sendable (UnsafeRawBufferPointer) -> Void

        public init(path: String, observe: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) {
            self.path = path
            self.observe = observe
        }
    }

    /// What a tensor's bytes in the written file must be, checked when it is read back.
    fileprivate enum Expected: Sendable {
        case checksum(UInt64)
        case copy(FileRange, descriptor: Int32)
    }

    /// Writes a file of the tensors `layout` describes, asking `contents` where each one's bytes are.
    ///
    /// The header is written from the layout alone; each tensor is then written from memory or copied from its
    /// source file, in order — except those copied from `streamedSource`, which are written once every other tensor
    /// is, as one pass over that file reaches them (see `StreamedSource`); once all are out, `finalMetadata` (when
    /// given) replaces the metadata — values known only at the end, such as a digest computed meanwhile; its header
    /// must encode to the same length, which a value of fixed width (a placeholder of the digest's length) guarantees.
    /// The file is synced, re-read (header validated, every tensor compared with its source file or its checksum) and
    /// renamed into place.
    /// - Throws: `SafeTensorsError` naming `path`; `FileError` naming a source file that cannot be read or ends
    ///   early; or whatever `contents` and `finalMetadata` throw, after the temporary file is removed.
    public static func write(
        _ layout: [TensorLayout], metadata: [String: String] = [:], to path: String,
        streaming contents: (_ index: Int) throws -> TensorContents,
        streamedSource: StreamedSource? = nil,
        finalMetadata: (() throws -> [String: String])? = nil
    ) throws {
        let header = try encodedHeader(layout, metadata: metadata, path: path)
        // The output's own failures become `writeFailed`; what `contents` throws (naming the source) passes unchanged.
        func output<T>(_ body: () throws(FileError) -> T) throws(SafeTensorsError) -> T {
            do { return try body() } catch { throw .writeFailed(path: path, reason: error.reason) }
        }
        // Where each tensor goes: the header's offsets (checked sizes, so no overflow).
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(layout.count)
        for tensor in layout {
            let start = ranges.last?.upperBound ?? header.count
            ranges.append(start..<(start + tensor.byteCount))
        }
        let file = try output { () throws(FileError) in try AtomicFile(replacing: path) }
        try output { () throws(FileError) in try file.reserve(ranges.last?.upperBound ?? header.count) }
        try output { () throws(FileError) in try file.write(header) }
        let sources = SourceFiles()
        // Each tensor is read back and checked on another core while the next ones are written.
        let readBack = try output { () throws(FileError) in try ReadBack(file.temporaryPath, path: path) }
        // Write-back starts over the bytes that are final: every tensor up to the first not yet written.
        var written = [Bool](repeating: false, count: layout.count)
        var firstUnwritten = 0
        func markWritten(_ index: Int) {
            written[index] = true
            while firstUnwritten < layout.count && written[firstUnwritten] { firstUnwritten += 1 }
            file.startWriteBack(through: firstUnwritten < layout.count ? ranges[firstUnwritten].lowerBound : file.size)
        }
        var streamed: [(index: Int, range: FileRange)] = []
        do {
            for (index, tensor) in layout.enumerated() {
                let start = ranges[index].lowerBound
                switch try contents(index) {
                case .bytes(let bytes):
                    guard bytes.count == tensor.byteCount else {
                        throw SafeTensorsError.writeFailed(
                            path: path,
                            reason:
                                "tensor '\(tensor.name)' came with \(bytes.count) bytes, expected \(tensor.byteCount)")
                    }
                    try output { () throws(FileError) in try file.write(bytes, at: start) }
                    var checksum = DataChecksum()
                    checksum.update(bytes)
                    readBack.check(tensor.name, at: start, count: bytes.count, against: .checksum(checksum.value))
                    markWritten(index)
                case .file(let range):
                    guard range.count == tensor.byteCount else {
                        throw SafeTensorsError.writeFailed(
                            path: path,
                            reason: "tensor '\(tensor.name)' came as \(range.count) bytes of \(range.displayPath), "
                                + "expected \(tensor.byteCount)")
                    }
                    let source = try sources.open(range)
                    if range.path == streamedSource?.path {
                        streamed.append((index, range))
                        continue
                    }
                    let failure = try output { () throws(FileError) in
                        try file.copy(from: source, offset: range.offset, count: range.count, at: start)
                    }
                    if let failure {
                        throw FileError(
                            path: range.displayPath, member: range.member,
                            reason: "cannot be read: \(String(cString: strerror(failure)))")
                    }
                    readBack.check(
                        tensor.name, at: start, count: range.count, against: .copy(range, descriptor: source))
                    markWritten(index)
                }
            }
            if let streamedSource {
                try stream(
                    streamedSource, pieces: streamed, ranges: ranges, names: layout.map(\.name), into: file,
                    readBack: readBack, path: path, written: markWritten)
            }
        } catch {
            _ = readBack.finish()
            throw error
        }
        if let failure = readBack.finish() { throw failure }
        var finalMetadataValue = metadata
        if let finalMetadata {
            finalMetadataValue = try finalMetadata()
            let completed = try encodedHeader(layout, metadata: finalMetadataValue, path: path)
            guard completed.count == header.count else {
                throw SafeTensorsError.writeFailed(
                    path: path, reason: "the completed header is \(completed.count) bytes, not \(header.count)")
            }
            try output { () throws(FileError) in try file.overwrite(completed, at: 0) }
        }
        do {
            try file.commit { temporaryPath in
                try verify(temporaryPath, against: layout, metadata: finalMetadataValue, ranges: ranges, path: path)
            }
        } catch let error as FileError {
            throw SafeTensorsError.writeFailed(path: path, reason: error.reason)
        }
    }

    /// A window of the streamed source, handed to its observer on another thread; the writer keeps the memory alive
    /// and unchanged until the observer is done with it.
    private struct Window: @unchecked Sendable {
        var bytes: UnsafeRawBufferPointer
    }

    /// Reads `source` once, window by window, handing each window to its observer on a queue of its own while the parts
    /// of `pieces` (a tensor's index and its range of the source) that lie in the window are written to `file` at
    /// `ranges[index]` from the same memory, each read back at once and compared with it.
    ///
    /// The kernel copies into the page cache twice as fast when the source address and the file offset agree
    /// modulo 64 (100 MB: 20 ms, against 44 ms when they do not, and 30–70 ms for `copy_file_range` between files
    /// whose offsets disagree, as an HDF5 file's and a safetensors file's do), so a part that does not is first moved
    /// to a staging buffer at an address that does; reading back lands at such an address too.
    private static func stream(
        _ source: StreamedSource, pieces: [(index: Int, range: FileRange)], ranges: [Range<Int>], names: [String],
        into file: AtomicFile, readBack: ReadBack, path: String, written: (Int) -> Void
    ) throws {
        let descriptor: Int32
        let size: Int
        switch FileIO.openRegularFile(source.path) {
        case .success(let opened): (descriptor, size) = opened
        case .failure(let failure): throw FileError(path: source.path, reason: "cannot be opened: \(failure.reason)")
        }
        defer { close(descriptor) }
        // Two windows are enough: the digest is the slower side, so one window is hashed while the other is read and
        // written. With the staging buffer and the read-back buffer (each of the last two 64 bytes longer) they fill one
        // block of two 2 MiB pages, which the kernel may back with huge pages: 2 page faults instead of 1,000, and
        // 4 MiB for it to zero instead of the 8 MiB that four 1 MiB windows took (CPU of a ResNet50 convert
        // 124.3 -> 121.1 ms and 117.2 -> 115.5 ms in 41 and 61 alternating runs). Windows stay whole pages of the file.
        let windowSize = (1 << 20) - 4096
        let depth = 2
        let hugePage = 2 << 20
        let used = depth * windowSize + 2 * (windowSize + 64)
        let memory = UnsafeMutableRawBufferPointer.allocate(
            byteCount: (used + hugePage - 1) / hugePage * hugePage, alignment: hugePage)
        #if os(Linux)
            _ = madvise(memory.baseAddress, memory.count, MADV_HUGEPAGE)  // best effort
        #endif
        // Consecutive parts of `memory`, each starting 64-byte aligned (`aligned` and the read-back count on it).
        var carved = 0
        func carve(_ count: Int) -> UnsafeMutableRawBufferPointer {
            defer { carved += (count + 63) / 64 * 64 }
            return UnsafeMutableRawBufferPointer(rebasing: memory[carved..<(carved + count)])
        }
        let buffers = (0..<depth).map { _ in carve(windowSize) }
        let staging = carve(windowSize + 64)
        let scratch = carve(windowSize + 64)
        let free = DispatchSemaphore(value: depth)
        let observing = DispatchQueue(label: "tfparity.safetensors.observe")
        defer {
            // No window is released while the observer may still read it.
            observing.sync {}
            memory.deallocate()
        }
        // The same bytes at an address that agrees with `offset` modulo 64 (`buffer` has 64 bytes to spare).
        func aligned(_ bytes: UnsafeRawBufferPointer, for offset: Int, in buffer: UnsafeMutableRawBufferPointer)
            -> UnsafeRawBufferPointer
        {
            guard (Int(bitPattern: bytes.baseAddress) - offset) & 63 != 0 else { return bytes }
            let target = buffer.baseAddress! + (offset & 63)
            target.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            return UnsafeRawBufferPointer(start: target, count: bytes.count)
        }
        let order = pieces.filter { $0.range.count > 0 }.sorted { $0.range.offset < $1.range.offset }
        var remaining = [Int](repeating: 0, count: ranges.count)
        for piece in pieces {
            remaining[piece.index] = piece.range.count
            if piece.range.count == 0 { written(piece.index) }
        }
        var first = 0
        var position = 0
        var windowIndex = 0
        while position < size {
            let length = min(windowSize, size - position)
            free.wait()
            let buffer = buffers[windowIndex % depth]
            windowIndex += 1
            if let failure = FileIO.readFully(descriptor, into: buffer.baseAddress!, count: length, at: position) {
                free.signal()
                let reason =
                    failure == EIO
                    ? "the file ends early (truncated, or changed meanwhile?)" : String(cString: strerror(failure))
                throw FileError(path: source.path, reason: "cannot be read: \(reason)")
            }
            let window = Window(bytes: UnsafeRawBufferPointer(start: buffer.baseAddress, count: length))
            let observe = source.observe
            observing.async {
                observe(window.bytes)
                free.signal()
            }
            var next = first
            while next < order.count && order[next].range.offset < position + length {
                let (index, range) = order[next]
                next += 1
                let low = max(range.offset, position)
                let high = min(range.offset + range.count, position + length)
                guard low < high else { continue }
                let destination = ranges[index].lowerBound + (low - range.offset)
                let part = UnsafeRawBufferPointer(rebasing: window.bytes[(low - position)..<(high - position)])
                do {
                    try file.write(aligned(part, for: destination, in: staging), at: destination)
                } catch {
                    throw SafeTensorsError.writeFailed(path: path, reason: error.reason)
                }
                let target = scratch.baseAddress! + (destination & 63)
                if let failure = readBack.read(into: target, count: part.count, at: destination) {
                    throw SafeTensorsError.writeFailed(
                        path: path,
                        reason: "the written file does not read back: tensor '\(names[index])' cannot be read: "
                            + String(cString: strerror(failure)))
                }
                guard memcmp(target, part.baseAddress!, part.count) == 0 else {
                    throw SafeTensorsError.writeFailed(
                        path: path, reason: "tensor '\(names[index])' does not read back as written")
                }
                remaining[index] -= part.count
                if remaining[index] == 0 { written(index) }
            }
            // Sorted by start, a piece that began before the next window and is not done would still be in this one.
            while first < order.count && remaining[order[first].index] == 0 { first += 1 }
            position += length
        }
        if let unfinished = order.first(where: { remaining[$0.index] > 0 }) {
            // The ranges were checked against the file's size when opened; a file that shrank since is caught here.
            throw FileError(
                path: unfinished.range.displayPath, member: unfinished.range.member,
                reason: "the file ends early (truncated, or changed meanwhile?)")
        }
    }

    /// Reads written tensors back on a queue of their own and compares each with its source file or the checksum of
    /// the bytes written; owns a read-only descriptor of the file being written.
    private final class ReadBack: Sendable {
        private let descriptor: Int32
        private let path: String
        private let queue = DispatchQueue(label: "tfparity.safetensors.read-back")
        private let failure = Mutex<SafeTensorsError?>(nil)

        init(_ temporaryPath: String, path: String) throws(FileError) {
            descriptor = open(temporaryPath, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw FileError(path: path, reason: "cannot read back: \(String(cString: strerror(errno)))")
            }
            self.path = path
        }

        deinit { close(descriptor) }

        /// Reads `count` bytes of the written file at `offset` into `buffer` now, on the caller's thread; the error
        /// number, or nil.
        func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) -> Int32? {
            FileIO.readFully(descriptor, into: buffer, count: count, at: offset)
        }

        /// Queues the check of `count` bytes at `offset` (already written) against `expected`.
        func check(_ name: String, at offset: Int, count: Int, against expected: Expected) {
            queue.async { [self] in
                guard failure.withLock({ $0 == nil }) else { return }
                let same: Bool?
                switch expected {
                case .checksum(let value):
                    var checksum = DataChecksum()
                    let failed = FileIO.withBlocks(descriptor, offset: offset, count: count) { block, _ in
                        checksum.update(block)
                    }
                    same = failed == nil ? checksum.value == value : nil
                case .copy(let source, let sourceDescriptor):
                    same = FileIO.equalBytes(
                        descriptor, at: offset, sourceDescriptor, at: source.offset, count: count)
                }
                guard same != true else { return }
                let reason =
                    same == nil
                    ? "the written file does not read back: tensor '\(name)' cannot be read"
                    : "tensor '\(name)' does not read back as written"
                failure.withLock { $0 = .writeFailed(path: path, reason: reason) }
            }
        }

        /// Waits for every queued check; the first failure, or nil.
        func finish() -> SafeTensorsError? {
            queue.sync {}
            return failure.withLock { $0 }
        }
    }

    /// Source files of copied tensors, each opened once and closed with this object; a file is checked to hold the
    /// range before anything is copied from it.
    private final class SourceFiles {
        private var descriptors: [String: Int32] = [:]

        deinit {
            for descriptor in descriptors.values { close(descriptor) }
        }

        func open(_ range: FileRange) throws(FileError) -> Int32 {
            let descriptor: Int32
            if let known = descriptors[range.path] {
                descriptor = known
            } else {
                switch FileIO.openRegularFile(range.path) {
                case .success(let opened): descriptor = opened.descriptor
                case .failure(let failure):
                    throw FileError(
                        path: range.displayPath, member: range.member, reason: "cannot be opened: \(failure.reason)")
                }
                descriptors[range.path] = descriptor
            }
            var status = stat()
            guard fstat(descriptor, &status) == 0 else {
                throw FileError(
                    path: range.displayPath, reason: "cannot be read: \(String(cString: strerror(errno)))")
            }
            let (end, overflow) = range.offset.addingReportingOverflow(range.count)
            guard range.offset >= 0, !overflow, end <= Int(status.st_size) else {
                throw FileError(
                    path: range.displayPath, member: range.member,
                    reason: "the tensor's bytes end at offset \(end), but the file holds only \(status.st_size) bytes "
                        + "(truncated, or changed while being converted?)")
            }
            return descriptor
        }
    }

    /// The complete file as bytes, for callers that need it in memory (tests, hashing).
    /// - Throws: `SafeTensorsError` with path `<memory>` for duplicate or reserved names.
    public static func serialize(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]
    ) throws(SafeTensorsError) -> [UInt8] {
        let layout = tensors.map { TensorLayout(name: $0.name, dtype: $0.tensor.dtype, shape: $0.tensor.shape) }
        var bytes = try encodedHeader(layout, metadata: metadata, path: "<memory>")
        for (_, tensor) in tensors {
            bytes.append(contentsOf: tensor.bytes)
        }
        return bytes
    }

    /// The 8-byte length followed by the space-padded JSON header.
    private static func encodedHeader(
        _ layout: [TensorLayout], metadata: [String: String], path: String
    ) throws(SafeTensorsError) -> [UInt8] {
        var members: [(String, JSONValue)] = []
        members.reserveCapacity(layout.count + 1)
        if !metadata.isEmpty {
            let sorted = metadata.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }
            members.append(("__metadata__", .object(sorted)))
        }
        var seen: Set<String> = []
        var offset = 0
        for tensor in layout {
            let name = tensor.name
            guard name != "__metadata__" else { throw .reservedTensorName(path: path, tensor: name) }
            guard seen.insert(name).inserted else { throw .duplicateTensorName(path: path, tensor: name) }
            let end = offset + tensor.byteCount
            members.append(
                (
                    name,
                    .object([
                        ("dtype", .string(tensor.dtype.rawValue)),
                        ("shape", .array(tensor.shape.map { .int($0) })),
                        ("data_offsets", .array([.int(offset), .int(end)])),
                    ])
                ))
            offset = end
        }
        var json: [UInt8]
        do {
            json = try JSONValue.object(members).serializedBytes()
        } catch {
            // Only strings and integers are in the header, so this is a bug here, not bad input.
            preconditionFailure("safetensors header could not be serialised: \(error)")
        }
        let padding = (8 - json.count % 8) % 8
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        guard json.count <= SafeTensorsFile.maximumHeaderLength else {
            throw .headerTooLarge(path: path, length: UInt64(json.count))
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + json.count)
        let length = UInt64(json.count)
        for i in 0..<8 {
            bytes.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i))))
        }
        bytes.append(contentsOf: json)
        return bytes
    }

    /// Re-reads the synced temporary file's header and checks it is exactly what was meant to be written: every
    /// rule passes, the metadata and tensors are the ones given, and each tensor's bytes lie where they were written
    /// (and read back) from.
    private static func verify(
        _ temporaryPath: String, against layout: [TensorLayout], metadata: [String: String], ranges: [Range<Int>],
        path: String
    ) throws(SafeTensorsError) {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(path: temporaryPath)
        } catch {
            throw .writeFailed(path: path, reason: "the written file does not read back: \(error.reason)")
        }
        guard file.metadata == metadata, file.names == layout.map(\.name) else {
            throw .writeFailed(path: path, reason: "the written file does not list the tensors given")
        }
        for (tensor, range) in zip(layout, ranges) {
            guard let info = file.info(tensor.name), info.dtype == tensor.dtype, info.shape == tensor.shape,
                file.byteRange(tensor.name) == range
            else {
                throw .writeFailed(path: path, reason: "tensor '\(tensor.name)' does not read back as written")
            }
        }
    }
}
