import ProtobufWire
import TensorCore

/// `NodeDef` (tensorflow/core/framework/node_def.proto): one operation of a graph or function body.
public struct NodeDef: Sendable, Equatable {
    public var name: String = ""
    public var op: String = ""
    /// `name`, `name:N`, `^name` (control), or in a function body `node:output_arg:N`; parse with `TensorReference`.
    public var inputs: [String] = []
    public var device: String = ""
    public var attr: [String: AttrValue] = [:]

    public init(name: String = "", op: String = "", inputs: [String] = [], attr: [String: AttrValue] = [:]) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.attr = attr
    }

    static func decode(_ bytes: ArraySlice<UInt8>, limits: GraphLimits) throws -> NodeDef {
        var node = NodeDef()
        // The name may come after the field that fails; errors name the node once it is known.
        try inNode(node.name.isEmpty ? nil : node.name) {
            try ProtobufReader.fields(bytes) { reader, number, wireType in
                switch number {
                case 1: node.name = try reader.string(wireType, field: 1, "name")
                case 2: node.op = try reader.string(wireType, field: 2, "op")
                case 3: node.inputs.append(try reader.string(wireType, field: 3, "input"))
                case 4: node.device = try reader.string(wireType, field: 4, "device")
                case 5:
                    let (key, value) = try AttrValue.entry(
                        try reader.message(wireType, field: 5, "attr"), depth: 0, limits: limits)
                    node.attr[key] = value
                default: try reader.skip(wireType)
                }
            }
        }
        return node
    }

    /// Decodes the nodes of a repeated field, refusing more than `limits.maxNodes` before decoding any.
    static func decodeAll(
        field: Int, in bytes: ArraySlice<UInt8>, limits: GraphLimits, scope: String? = nil
    ) throws -> [NodeDef] {
        let count = try ProtobufReader.checkCount(field: field, in: bytes, limit: limits.maxNodes, "nodes")
        var nodes: [NodeDef] = []
        nodes.reserveCapacity(count)
        try ProtobufReader.fields(bytes) { reader, number, wireType in
            guard number == field else { return try reader.skip(wireType) }
            let message = try reader.message(wireType, field: field, "node")
            let index = nodes.count
            do {
                nodes.append(try inNode("node #\(index)") { try NodeDef.decode(message, limits: limits) })
            } catch var failure as DecodeFailure {
                // A function's nodes are named within it: `function/node`.
                if let scope { failure.node = "\(scope)/\(failure.node ?? "node #\(index)")" }
                throw failure
            }
        }
        return nodes
    }
}

/// `VersionDef`: which TensorFlow wrote the graph and which readers it excludes.
public struct VersionDef: Sendable, Equatable {
    public var producer: Int64 = 0
    public var minConsumer: Int64 = 0
    public var badConsumers: [Int64] = []
    public init() {}

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> VersionDef {
        var varints: [UInt64] = []
        return try ProtobufReader.decode(bytes, into: VersionDef()) { version, reader, number, wireType in
            switch number {
            case 1: version.producer = try reader.int64(wireType, field: 1, "producer")
            case 2: version.minConsumer = try reader.int64(wireType, field: 2, "min_consumer")
            case 3:
                try reader.appendVarints(wireType, "bad_consumers", to: &varints)
                version.badConsumers = varints.map { Int64(bitPattern: $0) }
            default: try reader.skip(wireType)
            }
        }
    }
}

/// `OpDef.ArgDef`: one input or output argument of a function signature.
public struct ArgDef: Sendable, Equatable {
    public var name: String = ""
    /// The fixed type, or `.invalid` when the type comes from `typeAttr`.
    public var type: TFDataType = .invalid
    public var typeAttr: String = ""
    public var numberAttr: String = ""
    public var isRef = false
    public init(name: String = "", type: TFDataType = .invalid) {
        self.name = name
        self.type = type
    }

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> ArgDef {
        try ProtobufReader.decode(bytes, into: ArgDef()) { arg, reader, number, wireType in
            switch number {
            case 1: arg.name = try reader.string(wireType, field: 1, "arg.name")
            case 3: arg.type = try TFDataType.read(&reader, wireType, field: 3, "arg.type")
            case 4: arg.typeAttr = try reader.string(wireType, field: 4, "arg.type_attr")
            case 5: arg.numberAttr = try reader.string(wireType, field: 5, "arg.number_attr")
            case 16: arg.isRef = try reader.varint(wireType, field: 16, "arg.is_ref") != 0
            default: try reader.skip(wireType)
            }
        }
    }
}

/// `OpDef` as a function's signature: its name and arguments.
public struct FunctionSignature: Sendable, Equatable {
    public var name: String = ""
    public var inputs: [ArgDef] = []
    public var outputs: [ArgDef] = []
    public init() {}

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> FunctionSignature {
        try ProtobufReader.decode(bytes, into: FunctionSignature()) { signature, reader, number, wireType in
            switch number {
            case 1: signature.name = try reader.string(wireType, field: 1, "signature.name")
            case 2: signature.inputs.append(try ArgDef.decode(try reader.message(wireType, field: 2, "input_arg")))
            case 3: signature.outputs.append(try ArgDef.decode(try reader.message(wireType, field: 3, "output_arg")))
            default: try reader.skip(wireType)
            }
        }
    }
}

/// `FunctionDef` (tensorflow/core/framework/function.proto): a `tf.function`'s body, an `If`'s branch.
public struct FunctionDef: Sendable, Equatable {
    public var signature = FunctionSignature()
    public var attr: [String: AttrValue] = [:]
    /// The body. Inputs use the function form: an input argument's name, or `node:output_arg:N`.
    public var nodes: [NodeDef] = []
    /// Output argument name → the body output it returns (`node:output_arg:N`).
    public var ret: [String: String] = [:]
    public var controlRet: [String: String] = [:]

    public var name: String { signature.name }

    public init() {}

    static func decode(_ bytes: ArraySlice<UInt8>, limits: GraphLimits) throws -> FunctionDef {
        var function = FunctionDef()
        // The signature (and with it the name errors show) is field 1; decode it first wherever it is.
        try ProtobufReader.fields(bytes) { reader, number, wireType in
            if number == 1 {
                function.signature = try FunctionSignature.decode(try reader.message(wireType, field: 1, "signature"))
            } else {
                try reader.skip(wireType)
            }
        }
        let name = function.signature.name
        function.nodes = try NodeDef.decodeAll(field: 3, in: bytes, limits: limits, scope: name)
        try inNode(name) {
            try ProtobufReader.fields(bytes) { reader, number, wireType in
                switch number {
                case 4:
                    let (key, value) = try ProtobufReader.stringMapEntry(
                        try reader.message(wireType, field: 4, "ret"), "ret")
                    function.ret[key] = value
                case 5:
                    let (key, value) = try AttrValue.entry(
                        try reader.message(wireType, field: 5, "attr"), depth: 0, limits: limits)
                    function.attr[key] = value
                case 6:
                    let (key, value) = try ProtobufReader.stringMapEntry(
                        try reader.message(wireType, field: 6, "control_ret"), "control_ret")
                    function.controlRet[key] = value
                default: try reader.skip(wireType)
                }
            }
        }
        return function
    }
}

/// `GraphDef` (tensorflow/core/framework/graph.proto): a frozen `.pb`, or the graph inside a meta graph. Read one
/// with `read(contentsOf:limits:)` (`GraphFileMessage`).
public struct GraphDef: GraphFileMessage, Sendable, Equatable {
    public var nodes: [NodeDef] = []
    /// The function library: `If` branches, `tf.function` bodies.
    public var functions: [FunctionDef] = []
    public var versions = VersionDef()

    public init(nodes: [NodeDef] = [], functions: [FunctionDef] = []) {
        self.nodes = nodes
        self.functions = functions
    }

    /// Decodes a binary GraphDef; `path` names the file in errors.
    public static func decode(_ bytes: ArraySlice<UInt8>, path: String, limits: GraphLimits = .standard) throws
        -> GraphDef
    {
        try decodingFile(path) { try decode(bytes, limits: limits) }
    }

    static func decode(_ bytes: ArraySlice<UInt8>, limits: GraphLimits) throws -> GraphDef {
        var graph = GraphDef()
        graph.nodes = try NodeDef.decodeAll(field: 1, in: bytes, limits: limits)
        try ProtobufReader.fields(bytes) { reader, number, wireType in
            switch number {
            case 2:
                graph.functions += try inField("library") {
                    try decodeLibrary(try reader.message(wireType, field: 2, "library"), limits: limits)
                }
            case 4: graph.versions = try VersionDef.decode(try reader.message(wireType, field: 4, "versions"))
            default: try reader.skip(wireType)
            }
        }
        return graph
    }

    /// `FunctionDefLibrary`: the functions (field 1); gradients are not needed for inference.
    static func decodeLibrary(_ bytes: ArraySlice<UInt8>, limits: GraphLimits) throws -> [FunctionDef] {
        let count = try ProtobufReader.checkCount(field: 1, in: bytes, limit: limits.maxFunctions, "functions")
        var functions: [FunctionDef] = []
        functions.reserveCapacity(count)
        try ProtobufReader.fields(bytes) { reader, number, wireType in
            guard number == 1 else { return try reader.skip(wireType) }
            functions.append(try FunctionDef.decode(try reader.message(wireType, field: 1, "function"), limits: limits))
        }
        return functions
    }
}
