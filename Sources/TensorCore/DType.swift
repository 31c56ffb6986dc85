/// An element type, spelled as safetensors spells it.
public enum DType: String, Sendable, CaseIterable, Codable {
    case float16 = "F16"
    case bfloat16 = "BF16"
    case float32 = "F32"
    case float64 = "F64"
    case int8 = "I8"
    case int16 = "I16"
    case int32 = "I32"
    case int64 = "I64"
    case uint8 = "U8"
    case uint16 = "U16"
    case uint32 = "U32"
    case uint64 = "U64"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .int8, .uint8: 1
        case .float16, .bfloat16, .int16, .uint16: 2
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64: 8
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: true
        default: false
        }
    }

    /// The name numpy gives this type (`float32`, `int8`, `bool`, …), for messages.
    public var numpyName: String {
        switch self {
        case .float16: "float16"
        case .bfloat16: "bfloat16"
        case .float32: "float32"
        case .float64: "float64"
        case .int8: "int8"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .uint8: "uint8"
        case .uint16: "uint16"
        case .uint32: "uint32"
        case .uint64: "uint64"
        case .bool: "bool"
        }
    }
}

extension DType {
    /// The element type of TensorFlow's `DataType` enum value `code` (types.proto: `DT_FLOAT = 1`, …), shared by the
    /// checkpoint and graph readers; nil for strings, complex, quantised, resource and variant types.
    public init?(tensorFlowCode code: Int) {
        guard let dtype = Self.allCases.first(where: { $0.tensorFlowCode == code }) else { return nil }
        self = dtype
    }

    /// This type's value in TensorFlow's `DataType` enum; a switch over every case, so a new type cannot miss one.
    var tensorFlowCode: Int {
        switch self {
        case .float32: 1
        case .float64: 2
        case .int32: 3
        case .uint8: 4
        case .int16: 5
        case .int8: 6
        case .int64: 9
        case .bool: 10
        case .bfloat16: 14
        case .uint16: 17
        case .float16: 19
        case .uint32: 22
        case .uint64: 23
        }
    }
}
