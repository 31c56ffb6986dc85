import TFGraph
import TensorCore

/// What the user said about a TensorFlow graph source: which file holds the graph, which tensors are the model's input
/// and output, the values of placeholders that select branches, and which SavedModel signature to read.
public struct GraphImportOptions: Sendable, Equatable {
    /// A meta graph (`.meta`) for a checkpoint whose own `<prefix>.meta` is missing or is not the one wanted.
    public var graph: String?
    /// Placeholder names (`x`, `x:0`); empty: the one float placeholder the outputs depend on.
    public var inputs: [String]
    /// Op or `op:N` names; empty: the sinks of the forward computation (or the signature's outputs).
    public var outputs: [String]
    /// Scalar placeholder values, in the order given.
    public var feeds: [GraphFeed]
    /// The SavedModel meta graph and signature.
    public var savedModel: SavedModelSelection

    public init(
        graph: String? = nil, inputs: [String] = [], outputs: [String] = [], feeds: [GraphFeed] = [],
        savedModel: SavedModelSelection = SavedModelSelection()
    ) {
        self.graph = graph
        self.inputs = inputs
        self.outputs = outputs
        self.feeds = feeds
        self.savedModel = savedModel
    }

    /// True when nothing but the defaults was asked for.
    public var isDefault: Bool { self == GraphImportOptions() }
}

/// Which meta graph of a SavedModel to read, and which of its signatures: they are asked for together, and together
/// they are either the defaults or something the user asked for.
public struct SavedModelSelection: Sendable, Equatable {
    /// The meta graph's tag.
    public var tag: String
    /// The signature.
    public var signature: String

    public init(tag: String = "serve", signature: String = "serving_default") {
        self.tag = tag
        self.signature = signature
    }
}

/// One `NAME=VALUE` feed: a scalar placeholder's value.
public struct GraphFeed: Sendable, Equatable, CustomStringConvertible {
    public enum Value: Sendable, Equatable, CustomStringConvertible {
        case bool(Bool)
        case integer(Int64)
        case number(Double)

        public var description: String {
            switch self {
            case .bool(let value): value ? "true" : "false"
            case .integer(let value): "\(value)"
            case .number(let value): "\(value)"
            }
        }
    }

    /// The placeholder's op name (a trailing `:0` is dropped).
    public var name: String
    public var value: Value

    public init(name: String, value: Value) {
        self.name = name
        self.value = value
    }

    /// Parses `phase_train=false`, `keep_prob=1.0`, `mode=0`; nil when the text is not `NAME=VALUE` with a bool,
    /// integer or number value.
    public init?(parsing text: String) {
        guard let equals = text.firstIndex(of: "=") else { return nil }
        var name = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
        if name.hasSuffix(":0") { name.removeLast(2) }
        let raw = String(text[text.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !raw.isEmpty else { return nil }
        switch raw.lowercased() {
        case "true": value = .bool(true)
        case "false": value = .bool(false)
        default:
            if let integer = Int64(raw) {
                value = .integer(integer)
            } else if let number = Double(raw), number.isFinite {
                value = .number(number)
            } else {
                return nil
            }
        }
        self.name = name
    }

    public var description: String { "\(name)=\(value)" }

    /// The value as a scalar of the placeholder's `dtype`; nil when it does not fit that type.
    func tensor(as type: TFDataType) -> Tensor? {
        func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
        switch (type.dtype, value) {
        case (.bool?, .bool(let flag)): return Tensor(dtype: .bool, shape: [], bytes: [flag ? 1 : 0])
        case (.bool?, .integer(let number)) where number == 0 || number == 1:
            return Tensor(dtype: .bool, shape: [], bytes: [UInt8(number)])
        case (.int32?, .integer(let number)):
            guard let narrow = Int32(exactly: number) else { return nil }
            return Tensor(dtype: .int32, shape: [], bytes: bytes(narrow))
        case (.int64?, .integer(let number)): return Tensor(dtype: .int64, shape: [], bytes: bytes(number))
        case (.float32?, .integer(let number)): return Tensor(shape: [], floats: [Float(number)])
        case (.float32?, .number(let number)): return Tensor(shape: [], floats: [Float(number)])
        case (.float64?, .integer(let number)): return Tensor(shape: [], doubles: [Double(number)])
        case (.float64?, .number(let number)): return Tensor(shape: [], doubles: [number])
        default: return nil
        }
    }
}
