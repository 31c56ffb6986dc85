/// A dense, C-ordered (row-major) tensor: shape, element type and little-endian bytes.
///
/// Readers normalise to this form (big-endian and Fortran-ordered sources are converted on read), so a
/// tensor's bytes can be written to safetensors unchanged and compared bit for bit with its source.
public struct Tensor: Sendable, Equatable {
    public let dtype: DType
    public let shape: [Int]
    /// `elementCount * dtype.byteSize` little-endian bytes in C order.
    public let bytes: [UInt8]

    /// Wraps bytes already in little-endian C order. The byte count must match: a mismatch is a bug in the caller,
    /// which must have checked sizes from the file before building a tensor.
    public init(dtype: DType, shape: [Int], bytes: [UInt8]) {
        precondition(Shape.byteCount(shape, dtype: dtype) == bytes.count, "tensor bytes do not match shape × dtype")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A float32 tensor from values in C order.
    public init(shape: [Int], floats: [Float]) {
        precondition(Shape.elementCount(shape) == floats.count, "values do not match shape")
        self.init(dtype: .float32, shape: shape, bytes: Self.littleEndianBytes(floats.map(\.bitPattern)))
    }

    /// A float64 tensor from values in C order.
    public init(shape: [Int], doubles: [Double]) {
        precondition(Shape.elementCount(shape) == doubles.count, "values do not match shape")
        self.init(dtype: .float64, shape: shape, bytes: Self.littleEndianBytes(doubles.map(\.bitPattern)))
    }

    private static func littleEndianBytes<Word: FixedWidthInteger>(_ words: [Word]) -> [UInt8] {
        let width = MemoryLayout<Word>.size
        var bytes = [UInt8](repeating: 0, count: words.count * width)
        bytes.withUnsafeMutableBytes { raw in
            for (i, word) in words.enumerated() {
                raw.storeBytes(of: word.littleEndian, toByteOffset: i * width, as: Word.self)
            }
        }
        return bytes
    }

    public var elementCount: Int { bytes.count / dtype.byteSize }
    public var rank: Int { shape.count }

    /// Every element as `Double` (exact for all types but 64-bit integers beyond 2^53).
    public func doubleValues() -> [Double] {
        var out = [Double](repeating: 0, count: elementCount)
        bytes.withUnsafeBytes { raw in
            for i in 0..<out.count {
                out[i] = Self.element(raw, i, dtype)
            }
        }
        return out
    }

    /// Every element as `Float` (float32 is returned bit-exact).
    public func floatValues() -> [Float] {
        if dtype == .float32 {
            var out = [Float](repeating: 0, count: elementCount)
            bytes.withUnsafeBytes { raw in
                for i in 0..<out.count {
                    out[i] = Float(
                        bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                }
            }
            return out
        }
        return doubleValues().map { Float($0) }
    }

    /// This tensor converted to float32, rounding as numpy's `astype(float32)` does.
    public func toFloat32() -> Tensor {
        dtype == .float32 ? self : Tensor(shape: shape, floats: floatValues())
    }

    /// The same bytes under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(dtype: dtype, shape: newShape, bytes: bytes)
    }

    private static func element(_ raw: UnsafeRawBufferPointer, _ i: Int, _ dtype: DType) -> Double {
        switch dtype {
        case .bool: return raw[i] != 0 ? 1 : 0
        case .uint8: return Double(raw[i])
        case .int8: return Double(Int8(bitPattern: raw[i]))
        case .uint16: return Double(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))
        case .int16: return Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: Int16.self)))
        case .uint32: return Double(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
        case .int32: return Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self)))
        case .uint64: return Double(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
        case .int64: return Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)))
        case .float16:
            let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
            return Double(HalfPrecision.float(fromHalfBits: bits))
        case .bfloat16:
            let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
            return Double(Float(bitPattern: UInt32(bits) << 16))
        case .float32:
            return Double(
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))))
        case .float64:
            return Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
        }
    }
}

/// IEEE 754 binary16 conversion done in integer arithmetic, so it works on every platform
/// (Swift's `Float16` is unavailable on some).
public enum HalfPrecision {
    public static func float(fromHalfBits h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1f)
        let mantissa = UInt32(h & 0x3ff)
        if exponent == 0x1f {
            return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            // Zero or subnormal: mantissa × 2^-24.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}

extension Array where Element == UInt8 {
    /// Reverses the byte order of every `width`-byte element in place (big ↔ little endian).
    public mutating func swapByteOrder(elementWidth width: Int) {
        guard width > 1 else { return }
        withUnsafeMutableBufferPointer { buffer in
            var start = 0
            while start + width <= buffer.count {
                var lo = start
                var hi = start + width - 1
                while lo < hi {
                    buffer.swapAt(lo, hi)
                    lo += 1
                    hi -= 1
                }
                start += width
            }
        }
    }
}

/// Converts a Fortran-ordered (column-major) element array to C order.
public enum MemoryOrder {
    /// `bytes` holds `shape`'s elements in Fortran order, `width` bytes each; returns them in C order.
    public static func fortranToC(_ bytes: [UInt8], shape: [Int], width: Int) -> [UInt8] {
        guard shape.count > 1, !bytes.isEmpty else { return bytes }
        let count = bytes.count / width
        var out = [UInt8](repeating: 0, count: bytes.count)
        // Fortran strides: stride[0] = 1, stride[k] = stride[k-1] * shape[k-1].
        var fortranStride = [Int](repeating: 1, count: shape.count)
        for k in 1..<shape.count { fortranStride[k] = fortranStride[k - 1] * shape[k - 1] }
        var index = [Int](repeating: 0, count: shape.count)
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                for c in 0..<count {
                    var f = 0
                    for k in 0..<shape.count { f += index[k] * fortranStride[k] }
                    dst.baseAddress!.advanced(by: c * width)
                        .copyMemory(from: src.baseAddress!.advanced(by: f * width), byteCount: width)
                    // Increment the C-order multi-index (last axis fastest).
                    var k = shape.count - 1
                    while k >= 0 {
                        index[k] += 1
                        if index[k] < shape[k] { break }
                        index[k] = 0
                        k -= 1
                    }
                }
            }
        }
        return out
    }
}
