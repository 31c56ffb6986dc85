import Foundation
import TensorCore

/// Reads `.npy` files (format versions 1.0, 2.0 and 3.0) into little-endian, C-ordered tensors.
public enum NPYFile {
    /// Reads and decodes the `.npy` file at `path`.
    ///
    /// - Throws: `NPYError` naming `path`.
    public static func read(path: String) throws -> Tensor {
        try decode(try readFile(path: path), path: path, member: nil)
    }

    /// Decodes the bytes of a whole `.npy` file.
    ///
    /// The payload must be exactly `shape × dtype` bytes; big-endian elements are swapped and Fortran order
    /// is converted to C order.
    /// - Parameters:
    ///   - path: the file (or archive) the bytes came from, for error messages.
    ///   - member: the archive member the bytes came from, if any.
    /// - Throws: `NPYError` naming `path` and `member`.
    public static func decode(_ bytes: consuming [UInt8], path: String, member: String?) throws -> Tensor {
        let (header, dataOffset) = try NPYHeader.parse(bytes[...], path: path, member: member)
        let expected = header.payloadByteCount
        let actual = bytes.count - dataOffset
        guard actual >= expected else {
            throw NPYError.truncatedPayload(path: path, member: member, expected: expected, actual: actual)
        }
        guard actual == expected else {
            throw NPYError.trailingBytes(path: path, member: member, expected: expected, actual: actual)
        }
        // The header is dropped in place: the file's own array becomes the tensor's bytes, with no second copy.
        var payload = consume bytes
        payload.removeSubrange(0..<dataOffset)
        return tensor(header: header, payload: payload)
    }

    /// The tensor of a parsed header and its payload (exactly `shape × dtype` bytes, checked by the caller), in
    /// little-endian C order.
    static func tensor(header: NPYHeader, payload: [UInt8]) -> Tensor {
        var payload = payload
        let width = header.dtype.byteSize
        // Tensor bytes are little-endian whatever the host.
        if header.bigEndian { payload.swapByteOrder(elementWidth: width) }
        if header.fortranOrder {
            payload = MemoryOrder.fortranToC(payload, shape: header.shape, width: width)
        }
        return Tensor(dtype: header.dtype, shape: header.shape, bytes: payload)
    }
}

/// The whole file at `path`, read straight into the array (no intermediate `Data` copy), or `NPYError.unreadable`
/// saying why not.
func readFile(path: String) throws -> [UInt8] {
    let storage = try ArchiveStorage(path: path)
    return try storage.read(0..<storage.count)
}
