import ProtobufWire

/// One dimension of a graph input's or output's shape: a size, a name for a size known only when the model runs
/// (`N` for the batch; every input dimension of one name must agree at run time), or nothing known.
public enum ONNXDimension: Sendable, Equatable, ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    case value(Int)
    case param(String)
    /// An empty `Dimension` message: neither `dim_value` nor `dim_param`.
    case unknown

    public init(integerLiteral value: Int) { self = .value(value) }
    public init(stringLiteral name: String) { self = .param(name) }
}

/// A named, typed value of the graph (`ValueInfoProto` holding a `TypeProto.Tensor`): a graph input or output, or a
/// `value_info` entry for an intermediate value.
public struct ONNXValueInfo: Sendable, Equatable {
    public var name: String
    public var elementType: ONNXDataType
    /// The dimensions; nil when not even the rank is known (no `shape` at all: allowed for `value_info`, but onnx's
    /// checker requires a shape on graph inputs and outputs), `[]` for a scalar.
    public var shape: [ONNXDimension]?

    public init(name: String, elementType: ONNXDataType = .float, shape: [ONNXDimension]?) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }
}

extension ONNXValueInfo: ProtobufMessage {
    // ValueInfoProto: name = 1, type = 2. TypeProto: tensor_type = 1. TypeProto.Tensor: elem_type = 1, shape = 2.
    // TensorShapeProto: dim = 1. TensorShapeProto.Dimension: dim_value = 1, dim_param = 2.

    private static func dimensionSize(_ dimension: ONNXDimension) -> Int {
        switch dimension {
        case .value(let value): ProtobufWriter.int64FieldSize(1, Int64(value))
        case .param(let name): ProtobufWriter.stringFieldSize(2, name)
        case .unknown: 0
        }
    }

    private var shapeSize: Int {
        (shape ?? []).reduce(0) { $0 + ProtobufWriter.lengthDelimitedFieldSize(1, length: Self.dimensionSize($1)) }
    }

    private var tensorTypeSize: Int {
        var size = ProtobufWriter.int64FieldSize(1, Int64(elementType.rawValue))
        if shape != nil { size += ProtobufWriter.lengthDelimitedFieldSize(2, length: shapeSize) }
        return size
    }

    private var typeSize: Int { ProtobufWriter.lengthDelimitedFieldSize(1, length: tensorTypeSize) }

    public var encodedSize: Int {
        ProtobufWriter.stringFieldSize(1, name) + ProtobufWriter.lengthDelimitedFieldSize(2, length: typeSize)
    }

    public func encode(into writer: inout ProtobufWriter) {
        writer.writeString(1, name)
        writer.writeLengthDelimitedHeader(2, length: typeSize)
        writer.writeLengthDelimitedHeader(1, length: tensorTypeSize)
        writer.writeInt64(1, Int64(elementType.rawValue))
        guard let shape else { return }
        // An empty shape is still written: it says "rank 0", where no shape says "rank unknown".
        writer.writeLengthDelimitedHeader(2, length: shapeSize)
        for dimension in shape {
            writer.writeLengthDelimitedHeader(1, length: Self.dimensionSize(dimension))
            switch dimension {
            case .value(let value): writer.writeInt64(1, Int64(value))
            case .param(let name): writer.writeString(2, name)
            case .unknown: break
            }
        }
    }
}

/// A key–value pair (`StringStringEntryProto`): model metadata, external-data locations.
public struct ONNXStringEntry: Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

extension ONNXStringEntry: ProtobufFields {
    public func writeFields(to sink: inout some ProtobufFieldSink) {
        sink.writeString(1, key)
        sink.writeString(2, value)
    }
}

/// An operator set the model imports (`OperatorSetIdProto`); the default domain `""` is `ai.onnx`.
public struct ONNXOperatorSet: Sendable, Equatable {
    public var domain: String
    public var version: Int

    public init(domain: String = "", version: Int) {
        self.domain = domain
        self.version = version
    }
}

extension ONNXOperatorSet: ProtobufFields {
    // The domain is written even when empty, as onnx's `make_opsetid` sets it.
    public func writeFields(to sink: inout some ProtobufFieldSink) {
        sink.writeString(1, domain)
        sink.writeInt64(2, Int64(version))
    }
}
