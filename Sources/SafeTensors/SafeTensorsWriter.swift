import Foundation
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
        let header = try encodedHeader(layout, metadata: metadata, path: path)
        // The output's own failures become `writeFailed`; what `contents` throws (naming the source) passes unchanged.
        func output<T>(_ body: () throws(FileError) -> T) throws(SafeTensorsError) -> T {
            do { return try body() } catch { throw .writeFailed(path: path, reason: error.reason) }
        }
        let file = try output { () throws(FileError) in try AtomicFile(replacing: path) }
        try output { () throws(FileError) in try file.write(header) }
        var checksum = DataChecksum()
        for (index, tensor) in layout.enumerated() {
            let bytes = try contents(index)
            guard bytes.count == tensor.byteCount else {
                throw SafeTensorsError.writeFailed(
                    path: path,
                    reason: "tensor '\(tensor.name)' came with \(bytes.count) bytes, expected \(tensor.byteCount)")
            }
            try output { () throws(FileError) in try file.write(bytes) }
            checksum.update(bytes)
        }
        do {
            try file.commit { temporaryPath in
                try verify(temporaryPath, against: layout, metadata: metadata, checksum: checksum.value, path: path)
            }
        } catch let error as FileError {
            throw SafeTensorsError.writeFailed(path: path, reason: error.reason)
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

    /// Re-reads the temporary file and checks it holds exactly what was meant to be written: a header that
    /// passes every rule and lists the layout, and data whose checksum equals that of the bytes written.
    private static func verify(
        _ temporaryPath: String, against layout: [TensorLayout], metadata: [String: String], checksum: UInt64,
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
        for tensor in layout {
            guard let info = file.info(tensor.name), info.dtype == tensor.dtype, info.shape == tensor.shape else {
                throw .writeFailed(path: path, reason: "tensor '\(tensor.name)' does not read back as written")
            }
        }
        let stored: UInt64
        do {
            stored = try file.dataChecksum()
        } catch {
            throw .writeFailed(path: path, reason: "the written file does not read back: \(error.reason)")
        }
        guard stored == checksum else {
            throw .writeFailed(path: path, reason: "the written data does not read back as written")
        }
    }

}
