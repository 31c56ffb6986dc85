import ProtobufWire
import TensorCore

/// `TensorInfo` (meta_graph.proto): a signature's input or output, as a tensor name in the graph.
public struct TensorInfo: Sendable, Equatable {
    /// `op:N`, e.g. `serving_default_x:0`; empty for sparse and composite tensors.
    public var name: String = ""
    public var dtype: TFDataType = .invalid
    public var shape: TensorShapeProto?
    public init() {}

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> TensorInfo {
        try ProtobufReader.decode(bytes, into: TensorInfo()) { info, reader, number, wireType in
            switch number {
            case 1: info.name = try reader.string(wireType, field: 1, "name")
            case 2: info.dtype = try TFDataType.read(&reader, wireType, field: 2, "dtype")
            case 3: info.shape = try TensorShapeProto.decode(try reader.message(wireType, field: 3, "tensor_shape"))
            default: try reader.skip(wireType)
            }
        }
    }
}

/// `SignatureDef`: a named entry point of a SavedModel (`serving_default`).
public struct SignatureDef: Sendable, Equatable {
    public var inputs: [String: TensorInfo] = [:]
    public var outputs: [String: TensorInfo] = [:]
    public var methodName: String = ""
    public init() {}

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> SignatureDef {
        try ProtobufReader.decode(bytes, into: SignatureDef()) { signature, reader, number, wireType in
            switch number {
            case 1:
                let (key, value) = try ProtobufReader.mapEntry(
                    try reader.message(wireType, field: 1, "inputs"), "inputs", value: TensorInfo.decode,
                    empty: TensorInfo())
                signature.inputs[key] = value
            case 2:
                let (key, value) = try ProtobufReader.mapEntry(
                    try reader.message(wireType, field: 2, "outputs"), "outputs", value: TensorInfo.decode,
                    empty: TensorInfo())
                signature.outputs[key] = value
            case 3: signature.methodName = try reader.string(wireType, field: 3, "method_name")
            default: try reader.skip(wireType)
            }
        }
    }
}

/// `SaverDef`: how a TF1 `Saver` saves and restores the graph's variables.
public struct SaverDef: Sendable, Equatable {
    public var filenameTensorName: String = ""
    public var saveTensorName: String = ""
    public var restoreOpName: String = ""
    public var version: Int64 = 0
    public init() {}

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> SaverDef {
        try ProtobufReader.decode(bytes, into: SaverDef()) { saver, reader, number, wireType in
            switch number {
            case 1: saver.filenameTensorName = try reader.string(wireType, field: 1, "filename_tensor_name")
            case 2: saver.saveTensorName = try reader.string(wireType, field: 2, "save_tensor_name")
            case 3: saver.restoreOpName = try reader.string(wireType, field: 3, "restore_op_name")
            case 7: saver.version = try reader.int64(wireType, field: 7, "version")
            default: try reader.skip(wireType)
            }
        }
    }
}

/// `CollectionDef`: a graph collection (`trainable_variables`, `train_op`, `update_ops`...).
public enum CollectionDef: Sendable, Equatable {
    /// Tensor or op names.
    case nodeList([String])
    /// Strings or serialised protos (`VariableDef`s for the variable collections).
    case bytesList([[UInt8]])
    case int64List([Int64])
    case floatList([Float])
    /// `any_list`, or nothing set.
    case other

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> CollectionDef {
        try ProtobufReader.decode(bytes, into: CollectionDef.other) { collection, reader, number, wireType in
            switch number {
            case 1:
                var names: [String] = []
                try ProtobufReader.field(1, of: try reader.message(wireType, field: 1, "node_list")) { list, type in
                    names.append(try list.string(type, field: 1, "node_list.value"))
                }
                collection = .nodeList(names)
            case 2:
                var values: [[UInt8]] = []
                try ProtobufReader.field(1, of: try reader.message(wireType, field: 2, "bytes_list")) { list, type in
                    try ProtobufReader.expect(.lengthDelimited, type, field: 1, "bytes_list.value")
                    values.append(try list.bytes())
                }
                collection = .bytesList(values)
            case 3:
                var values: [UInt64] = []
                try ProtobufReader.field(1, of: try reader.message(wireType, field: 3, "int64_list")) { list, type in
                    try list.appendVarints(type, "int64_list.value", to: &values)
                }
                collection = .int64List(values.map { Int64(bitPattern: $0) })
            case 4:
                var values: [UInt32] = []
                try ProtobufReader.field(1, of: try reader.message(wireType, field: 4, "float_list")) { list, type in
                    try list.appendFixed32s(type, "float_list.value", to: &values)
                }
                collection = .floatList(values.map(Float.init(bitPattern:)))
            default:
                try reader.skip(wireType)
            }
        }
    }
}

/// `MetaGraphDef` (tensorflow/core/protobuf/meta_graph.proto): what `Saver` writes to `model.ckpt.meta`, and each
/// graph of a SavedModel. Read a `.meta` file with `read(contentsOf:limits:)` (`GraphFileMessage`).
public struct MetaGraphDef: GraphFileMessage, Sendable, Equatable {
    /// `meta_info_def.tags` (`serve`, `train`).
    public var tags: [String] = []
    public var tensorflowVersion: String = ""
    public var graph = GraphDef()
    public var saver: SaverDef?
    public var collections: [String: CollectionDef] = [:]
    public var signatures: [String: SignatureDef] = [:]
    /// A TF2 SavedModel's Python objects: variables, functions and how they refer to each other.
    public var objectGraph: SavedObjectGraph?

    public init() {}

    /// Decodes a binary MetaGraphDef; `path` names the file in errors.
    public static func decode(_ bytes: ArraySlice<UInt8>, path: String, limits: GraphLimits = .standard) throws
        -> MetaGraphDef
    {
        try decodingFile(path) { try decode(bytes, limits: limits) }
    }

    static func decode(_ bytes: ArraySlice<UInt8>, limits: GraphLimits) throws -> MetaGraphDef {
        try ProtobufReader.decode(bytes, into: MetaGraphDef()) { meta, reader, number, wireType in
            switch number {
            case 1:
                try ProtobufReader.fields(try reader.message(wireType, field: 1, "meta_info_def")) {
                    info, field, type in
                    switch field {
                    case 4: meta.tags.append(try info.string(type, field: 4, "meta_info_def.tags"))
                    case 5: meta.tensorflowVersion = try info.string(type, field: 5, "meta_info_def.tensorflow_version")
                    default: try info.skip(type)
                    }
                }
            case 2:
                meta.graph = try GraphDef.decode(try reader.message(wireType, field: 2, "graph_def"), limits: limits)
            case 3:
                meta.saver = try inField("saver_def") {
                    try SaverDef.decode(try reader.message(wireType, field: 3, "saver_def"))
                }
            case 4:
                let (key, value) = try inField("collection_def") {
                    try ProtobufReader.mapEntry(
                        try reader.message(wireType, field: 4, "collection_def"), "collection_def",
                        value: CollectionDef.decode, empty: .other)
                }
                meta.collections[key] = value
            case 5:
                let (key, value) = try inField("signature_def") {
                    try ProtobufReader.mapEntry(
                        try reader.message(wireType, field: 5, "signature_def"), "signature_def",
                        value: SignatureDef.decode, empty: SignatureDef())
                }
                meta.signatures[key] = value
            case 7:
                meta.objectGraph = try inField("object_graph_def") {
                    try SavedObjectGraph.decode(
                        try reader.message(wireType, field: 7, "object_graph_def"), limits: limits)
                }
            default:
                try reader.skip(wireType)
            }
        }
    }
}
