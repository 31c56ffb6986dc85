import ProtobufWire
import TensorCore

/// TensorFlow's `DataType` enum (tensorflow/core/framework/types.proto): kept as the number the file holds, so a
/// graph with types tfparity does not compute with (strings, resources) still decodes.
public struct TFDataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let invalid = TFDataType(rawValue: 0)
    public static let float = TFDataType(rawValue: 1)
    public static let double = TFDataType(rawValue: 2)
    public static let int32 = TFDataType(rawValue: 3)
    public static let string = TFDataType(rawValue: 7)
    public static let bool = TFDataType(rawValue: 10)
    public static let resource = TFDataType(rawValue: 20)

    /// The element type tfparity computes with, or nil (strings, complex, quantised, resources, variants).
    /// Reference types (`float_ref`, code + 100, what `VariableV2` outputs) map to their value type.
    public var dtype: DType? { DType(tensorFlowCode: rawValue > 100 ? rawValue - 100 : rawValue) }

    /// The name `tf.as_dtype(code).name` gives.
    public var description: String {
        if let dtype { return rawValue > 100 ? dtype.numpyName + "_ref" : dtype.numpyName }
        let names: [Int: String] = [
            0: "invalid", 7: "string", 8: "complex64", 11: "qint8", 12: "quint8", 13: "qint32", 15: "qint16",
            16: "quint16", 18: "complex128", 20: "resource", 21: "variant", 24: "float8_e5m2", 25: "float8_e4m3fn",
        ]
        return names[rawValue] ?? (rawValue > 100 ? "DataType \(rawValue - 100)_ref" : "DataType \(rawValue)")
    }

    /// Reads an enum field; TensorFlow's codes are small, anything else is corrupt.
    static func read(_ reader: inout ProtobufReader, _ wireType: ProtobufReader.WireType, field: Int, _ name: String)
        throws -> TFDataType
    {
        let code = try reader.int64(wireType, field: field, name)
        guard code >= 0, code < 1000 else { throw ProtobufReader.Malformed(reason: "\(name) is \(code)") }
        return TFDataType(rawValue: Int(code))
    }
}

/// `TensorShapeProto`: a shape as graphs state it, where a dimension may be unknown (`-1`) and so may the rank.
public struct TensorShapeProto: Sendable, Equatable {
    /// Dimension sizes; `-1` is unknown.
    public var dims: [Int] = []
    /// Dimension names (rarely set), one per dimension.
    public var dimNames: [String] = []
    public var unknownRank = false

    public init(dims: [Int] = [], unknownRank: Bool = false) {
        self.dims = dims
        self.dimNames = dims.map { _ in "" }
        self.unknownRank = unknownRank
    }

    /// The dimensions when every one is known (and so is the rank).
    public var knownDims: [Int]? { unknownRank || dims.contains(-1) ? nil : dims }

    /// TensorFlow's own bound on rank (`TensorShape::MaxDimensions`).
    static let maxRank = 254

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> TensorShapeProto {
        try ProtobufReader.decode(bytes, into: TensorShapeProto()) { shape, reader, number, wireType in
            switch number {
            case 2:
                let dim = try reader.message(wireType, field: 2, "dim")
                var size: Int64 = 0
                var name = ""
                try ProtobufReader.fields(dim) { dimReader, field, type in
                    switch field {
                    case 1: size = try dimReader.int64(type, field: 1, "dim.size")
                    case 2: name = try dimReader.string(type, field: 2, "dim.name")
                    default: try dimReader.skip(type)
                    }
                }
                // -1 is "unknown"; anything below, or beyond what an Int can count, is damage.
                guard size >= -1, size <= Int64(Int32.max) * Int64(Int32.max) else {
                    throw DecodeFailure(
                        kind: .badTensor, node: nil, reason: "dimension \(shape.dims.count) has size \(size)")
                }
                guard shape.dims.count < maxRank else {
                    throw DecodeFailure(
                        kind: .badTensor, node: nil, reason: "the shape has more than \(maxRank) dimensions")
                }
                shape.dims.append(Int(size))
                shape.dimNames.append(name)
            case 3:
                shape.unknownRank = try reader.varint(wireType, field: 3, "unknown_rank") != 0
            default:
                try reader.skip(wireType)
            }
        }
    }
}

/// `TensorProto` (tensorflow/core/framework/tensor.proto), holding its values as the file encodes them: the raw
/// `tensor_content` bytes or one of the typed repeated fields. `tensor()` makes a `Tensor` of it.
public struct TensorProto: Sendable, Equatable {
    public var dtype: TFDataType = .invalid
    public var shape = TensorShapeProto()
    public var versionNumber: Int32 = 0
    /// Little-endian element bytes in C order (`Tensor::AsProtoTensorContent`).
    public var content: [UInt8] = []
    /// float16 and bfloat16 values, one 16-bit pattern per int32.
    public var halfValues: [UInt32] = []
    public var floatValues: [Float] = []
    public var doubleValues: [Double] = []
    /// int8, int16, int32, uint8 and uint16 values.
    public var intValues: [Int32] = []
    public var int64Values: [Int64] = []
    public var boolValues: [Bool] = []
    public var uint32Values: [UInt32] = []
    public var uint64Values: [UInt64] = []
    public var stringValues: [[UInt8]] = []

    public init() {}

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> TensorProto {
        var buffers = RepeatedFieldBuffers()
        return try ProtobufReader.decode(bytes, into: TensorProto()) { tensor, reader, number, wireType in
            switch number {
            case 1: tensor.dtype = try TFDataType.read(&reader, wireType, field: 1, "dtype")
            case 2:
                tensor.shape = try inField("tensor_shape") {
                    try TensorShapeProto.decode(try reader.message(wireType, field: 2, "tensor_shape"))
                }
            case 3:
                try ProtobufReader.expect(.varint, wireType, field: 3, "version_number")
                tensor.versionNumber = try reader.int32("version_number")
            case 4: tensor.content = Array(try reader.message(wireType, field: 4, "tensor_content"))
            case 5: tensor.floatValues += try buffers.floats(&reader, wireType, "float_val")
            case 6: tensor.doubleValues += try buffers.doubles(&reader, wireType, "double_val")
            case 7:
                for value in try buffers.varints(&reader, wireType, "int_val") {
                    guard let narrow = Int32(exactly: Int64(bitPattern: value)) else {
                        throw ProtobufReader.Malformed(reason: "int_val holds \(Int64(bitPattern: value))")
                    }
                    tensor.intValues.append(narrow)
                }
            case 8:
                try ProtobufReader.expect(.lengthDelimited, wireType, field: 8, "string_val")
                tensor.stringValues.append(try reader.bytes())
            case 10: tensor.int64Values += try buffers.int64s(&reader, wireType, "int64_val")
            case 11: tensor.boolValues += try buffers.bools(&reader, wireType, "bool_val")
            case 13:
                for value in try buffers.varints(&reader, wireType, "half_val") {
                    guard value <= 0xffff else { throw ProtobufReader.Malformed(reason: "half_val holds \(value)") }
                    tensor.halfValues.append(UInt32(value))
                }
            case 16:
                for value in try buffers.varints(&reader, wireType, "uint32_val") {
                    guard let narrow = UInt32(exactly: value) else {
                        throw ProtobufReader.Malformed(reason: "uint32_val holds \(value)")
                    }
                    tensor.uint32Values.append(narrow)
                }
            case 17: tensor.uint64Values += try buffers.varints(&reader, wireType, "uint64_val")
            default:
                try reader.skip(wireType)
            }
        }
    }

    /// This tensor's values as a `Tensor`, decoded as TensorFlow's `Tensor::FromProto` does: `tensor_content` must
    /// hold exactly shape × dtype bytes; typed values may be fewer than the elements, the last one then repeating to
    /// fill the shape (how `tf.constant(0.0, shape=[3, 3])` is stored), and none at all means zeros.
    ///
    /// - Parameters: `path` and `node` name the file and node in errors.
    /// - Throws: `GraphError.badTensor` for an unknown or negative shape, a size that overflows or exceeds
    ///   `limits.maxTensorBytes`, or values that do not fit; `unsupportedDType` for strings and other types.
    public func tensor(path: String, node: String, limits: GraphLimits = .standard) throws -> Tensor {
        do {
            return try decodedTensor(limits: limits)
        } catch let failure as DecodeFailure {
            var failure = failure
            failure.node = failure.node ?? node
            throw failure.error(path: path)
        }
    }

    func decodedTensor(limits: GraphLimits) throws -> Tensor {
        func bad(_ reason: String) -> DecodeFailure { DecodeFailure(kind: .badTensor, node: nil, reason: reason) }
        guard let dtype = dtype.dtype, self.dtype.rawValue < 100 else {
            throw DecodeFailure(kind: .unsupportedDType, node: nil, reason: self.dtype.description)
        }
        guard let shape = shape.knownDims else {
            throw bad("the tensor's shape \(describe(shape)) is not fully known")
        }
        guard let count = Shape.elementCount(shape), let byteCount = Shape.byteCount(shape, dtype: dtype) else {
            throw bad("shape \(Shape.describe(shape)) of \(dtype.numpyName) overflows")
        }
        guard byteCount <= limits.maxTensorBytes else {
            throw bad(
                "shape \(Shape.describe(shape)) of \(dtype.numpyName) takes \(byteCount) bytes; "
                    + "tensors over \(limits.maxTensorBytes) bytes are refused")
        }
        if !content.isEmpty {
            guard content.count == byteCount else {
                throw bad(
                    "tensor_content is \(content.count) bytes, but shape \(Shape.describe(shape)) of "
                        + "\(dtype.numpyName) takes \(byteCount)")
            }
            return Tensor(dtype: dtype, shape: shape, bytes: content)
        }
        let have = valueCount(dtype)
        guard have <= count else {
            throw bad("\(have) values for shape \(Shape.describe(shape)) (\(count) elements)")
        }
        var bytes = [UInt8](repeating: 0, count: byteCount)
        guard have > 0 else { return Tensor(dtype: dtype, shape: shape, bytes: bytes) }
        let width = dtype.byteSize
        bytes.withUnsafeMutableBytes { raw in
            func store<Word: FixedWidthInteger>(_ words: [Word], as _: Word.Type) {
                for i in 0..<count {
                    raw.storeBytes(
                        of: words[min(i, words.count - 1)].littleEndian, toByteOffset: i * width, as: Word.self)
                }
            }
            switch dtype {
            case .float32: store(floatValues.map(\.bitPattern), as: UInt32.self)
            case .float64: store(doubleValues.map(\.bitPattern), as: UInt64.self)
            case .float16, .bfloat16: store(halfValues.map { UInt16(truncatingIfNeeded: $0) }, as: UInt16.self)
            case .int8: store(intValues.map { Int8(truncatingIfNeeded: $0) }, as: Int8.self)
            case .uint8: store(intValues.map { UInt8(truncatingIfNeeded: $0) }, as: UInt8.self)
            case .int16: store(intValues.map { Int16(truncatingIfNeeded: $0) }, as: Int16.self)
            case .uint16: store(intValues.map { UInt16(truncatingIfNeeded: $0) }, as: UInt16.self)
            case .int32: store(intValues, as: Int32.self)
            case .int64: store(int64Values, as: Int64.self)
            case .uint32: store(uint32Values, as: UInt32.self)
            case .uint64: store(uint64Values, as: UInt64.self)
            case .bool: store(boolValues.map { $0 ? UInt8(1) : 0 }, as: UInt8.self)
            }
        }
        return Tensor(dtype: dtype, shape: shape, bytes: bytes)
    }

    /// How many values the typed field for `dtype` holds.
    private func valueCount(_ dtype: DType) -> Int {
        switch dtype {
        case .float32: floatValues.count
        case .float64: doubleValues.count
        case .float16, .bfloat16: halfValues.count
        case .int8, .uint8, .int16, .uint16, .int32: intValues.count
        case .int64: int64Values.count
        case .uint32: uint32Values.count
        case .uint64: uint64Values.count
        case .bool: boolValues.count
        }
    }

    private func describe(_ shape: TensorShapeProto) -> String {
        shape.unknownRank
            ? "<unknown rank>" : "[" + shape.dims.map { $0 < 0 ? "?" : String($0) }.joined(separator: ", ") + "]"
    }
}
