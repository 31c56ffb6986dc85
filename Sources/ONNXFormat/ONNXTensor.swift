import ProtobufWire
import TensorCore

/// An element type as ONNX numbers it (`TensorProto.DataType` in onnx.proto).
public enum ONNXDataType: Int32, Sendable, CaseIterable {
    case float = 1
    case uint8 = 2
    case int8 = 3
    case uint16 = 4
    case int16 = 5
    case int32 = 6
    case int64 = 7
    case string = 8
    case bool = 9
    case float16 = 10
    case double = 11
    case uint32 = 12
    case uint64 = 13
    case bfloat16 = 16

    /// The ONNX type of a tfparity element type; every `DType` has one.
    public init(_ dtype: DType) {
        self =
            switch dtype {
            case .float16: .float16
            case .bfloat16: .bfloat16
            case .float32: .float
            case .float64: .double
            case .int8: .int8
            case .int16: .int16
            case .int32: .int32
            case .int64: .int64
            case .uint8: .uint8
            case .uint16: .uint16
            case .uint32: .uint32
            case .uint64: .uint64
            case .bool: .bool
            }
    }

    /// Bytes per element in `raw_data`; nil for strings, which have no raw form.
    public var byteSize: Int? {
        switch self {
        case .bool, .int8, .uint8: 1
        case .float16, .bfloat16, .int16, .uint16: 2
        case .float, .int32, .uint32: 4
        case .double, .int64, .uint64: 8
        case .string: nil
        }
    }
}

/// Where an initializer's bytes are kept in a file beside the model (`TensorProto.external_data`).
public struct ONNXExternalData: Sendable, Equatable {
    /// The data file's name, relative to the model's directory.
    public var location: String
    public var offset: Int
    public var length: Int

    public init(location: String, offset: Int, length: Int) {
        self.location = location
        self.offset = offset
        self.length = length
    }
}

/// A tensor value (`TensorProto`): an initializer or a tensor attribute, with its bytes inline as `raw_data`
/// (little-endian, C order, as `Tensor` holds them) or in an external data file.
public struct ONNXTensor: Sendable, Equatable {
    public enum Contents: Sendable, Equatable {
        case raw([UInt8])
        case external(ONNXExternalData)
    }

    public var name: String
    public var dataType: ONNXDataType
    public var dims: [Int]
    public var contents: Contents

    /// A tensor whose `rawData` is `dims`' element count × the type's width (a mismatch is the caller's bug).
    public init(name: String, dataType: ONNXDataType, dims: [Int], rawData: [UInt8]) {
        guard let width = dataType.byteSize else { preconditionFailure("string tensors have no raw data") }
        precondition(
            Shape.elementCount(dims).map { $0 * width } == rawData.count,
            "tensor '\(name)': \(rawData.count) bytes do not fit dims \(dims)")
        self.name = name
        self.dataType = dataType
        self.dims = dims
        contents = .raw(rawData)
    }

    /// The tensor's bytes as they are (no per-element work): `Tensor` and ONNX both hold little-endian C order.
    public init(name: String, _ tensor: Tensor) {
        self.init(name: name, dataType: ONNXDataType(tensor.dtype), dims: tensor.shape, rawData: tensor.bytes)
    }

    public init(name: String, shape: [Int], floats: [Float]) {
        self.init(name: name, Tensor(shape: shape, floats: floats))
    }

    /// An int64 tensor: the shapes, pads and axes operators such as Reshape and Pad take as inputs.
    public init(name: String, shape: [Int], int64s: [Int64]) {
        precondition(Shape.elementCount(shape) == int64s.count, "values do not match shape")
        var bytes = [UInt8](repeating: 0, count: int64s.count * 8)
        bytes.withUnsafeMutableBytes { raw in
            for (i, value) in int64s.enumerated() {
                raw.storeBytes(of: value.littleEndian, toByteOffset: i * 8, as: Int64.self)
            }
        }
        self.init(name: name, dataType: .int64, dims: shape, rawData: bytes)
    }

    /// Bytes of the tensor's data, wherever it is kept.
    public var byteCount: Int {
        switch contents {
        case .raw(let bytes): bytes.count
        case .external(let external): external.length
        }
    }
}

extension ONNXTensor: ProtobufFields {
    // TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9, external_data = 13, data_location = 14.

    private static let external: UInt64 = 1

    private var externalEntries: [ONNXStringEntry] {
        guard case .external(let external) = contents else { return [] }
        // The order onnx's own `set_external_data` writes.
        return [
            ONNXStringEntry(key: "location", value: external.location),
            ONNXStringEntry(key: "offset", value: String(external.offset)),
            ONNXStringEntry(key: "length", value: String(external.length)),
        ]
    }

    public func writeFields(to sink: inout some ProtobufFieldSink) {
        // `dims` is a proto2 repeated int64 without `packed`: one key per element, as the reference writes it.
        for dim in dims { sink.writeInt64(1, Int64(dim)) }
        sink.writeInt64(2, Int64(dataType.rawValue))
        // Written even when empty (a tensor attribute's value), as onnx's `make_tensor` sets it.
        sink.writeString(8, name)
        switch contents {
        case .raw(let bytes):
            sink.writeBytes(9, bytes)
        case .external:
            sink.writeMessages(13, externalEntries)
            sink.writeVarint(14, Self.external)
        }
    }
}
