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
        let header = try encodedHeader(tensors, metadata: metadata, path: path)

        let destination = URL(fileURLWithPath: path)
        let directory = destination.deletingLastPathComponent().path
        let temporaryPath = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).tmp-\(randomSuffix())").path

        // O_EXCL: never write through a file or symlink someone else put at the temporary name; 0600 so nobody
        // else reads a half-written file.
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw .writeFailed(path: path, reason: "cannot create a temporary file in '\(directory)': \(errorText())")
        }
        TemporaryFiles.register(temporaryPath)
        defer { TemporaryFiles.unregister(temporaryPath) }
        do throws(SafeTensorsError) {
            let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)
            do {
                defer { close(descriptor) }
                try handle.write(contentsOf: header)
                for (_, tensor) in tensors {
                    try handle.write(contentsOf: tensor.bytes)
                }
                // fsync before rename so a crash cannot leave a renamed but empty file.
                try handle.synchronize()
            } catch {
                throw SafeTensorsError.writeFailed(path: path, reason: error.localizedDescription)
            }
            try verify(temporaryPath, against: tensors, metadata: metadata, path: path)
            // The finished file gets the permissions a plain create would have given it.
            chmod(temporaryPath, 0o666 & ~currentUmask())
            guard rename(temporaryPath, path) == 0 else {
                throw SafeTensorsError.writeFailed(path: path, reason: "cannot rename into place: \(errorText())")
            }
        } catch {
            unlink(temporaryPath)
            throw error
        }
        syncDirectory(directory)
    }

    /// The complete file as bytes, for callers that need it in memory (tests, hashing).
    /// - Throws: `SafeTensorsError` with path `<memory>` for duplicate or reserved names.
    public static func serialize(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]
    ) throws(SafeTensorsError) -> [UInt8] {
        var bytes = try encodedHeader(tensors, metadata: metadata, path: "<memory>")
        for (_, tensor) in tensors {
            bytes.append(contentsOf: tensor.bytes)
        }
        return bytes
    }

    /// The 8-byte length followed by the space-padded JSON header.
    private static func encodedHeader(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String], path: String
    ) throws(SafeTensorsError) -> [UInt8] {
        var members: [(String, JSONValue)] = []
        members.reserveCapacity(tensors.count + 1)
        if !metadata.isEmpty {
            let sorted = metadata.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }
            members.append(("__metadata__", .object(sorted)))
        }
        var seen: Set<String> = []
        var offset = 0
        for (name, tensor) in tensors {
            guard name != "__metadata__" else { throw .reservedTensorName(path: path, tensor: name) }
            guard seen.insert(name).inserted else { throw .duplicateTensorName(path: path, tensor: name) }
            let end = offset + tensor.bytes.count
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

    /// Re-reads the temporary file and checks it holds exactly what was meant to be written.
    private static func verify(
        _ temporaryPath: String, against tensors: [(name: String, tensor: Tensor)], metadata: [String: String],
        path: String
    ) throws(SafeTensorsError) {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(path: temporaryPath)
        } catch {
            throw .writeFailed(path: path, reason: "the written file does not read back: \(error.reason)")
        }
        guard file.metadata == metadata, file.names == tensors.map(\.name) else {
            throw .writeFailed(path: path, reason: "the written file does not list the tensors given")
        }
        for (name, tensor) in tensors {
            guard let info = file.info(name), info.dtype == tensor.dtype, info.shape == tensor.shape,
                file.hasBytes(tensor.bytes, forTensor: name)
            else {
                throw .writeFailed(path: path, reason: "tensor '\(name)' does not read back as written")
            }
        }
    }

    /// Makes the rename durable; best effort, since the data itself is already synced.
    private static func syncDirectory(_ directory: String) {
        let descriptor = open(directory, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }

    private static func currentUmask() -> mode_t {
        let mask = umask(0o022)
        umask(mask)
        return mask
    }

    private static func randomSuffix() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    private static func errorText() -> String {
        String(cString: strerror(errno))
    }
}
