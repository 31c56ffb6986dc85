import Foundation
import ProtobufWire
import TensorCore

/// `SavedModel` (tensorflow/core/protobuf/saved_model.proto): `saved_model.pb`, one or more tagged meta graphs.
public struct SavedModel: Sendable, Equatable {
    public var schemaVersion: Int64 = 0
    public var metaGraphs: [MetaGraphDef] = []

    public init() {}

    /// The first meta graph carrying `tag` (`serve` by default, as `tf.saved_model.load` picks it).
    public func metaGraph(tag: String = "serve") -> MetaGraphDef? {
        metaGraphs.first { $0.tags.contains(tag) }
    }

    /// Reads `saved_model.pb`, given the file or the SavedModel directory.
    public static func read(contentsOf path: String, limits: GraphLimits = .standard) throws -> SavedModel {
        var isDirectory: ObjCBool = false
        let file =
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? (path.hasSuffix("/") ? path : path + "/") + "saved_model.pb" : path
        let bytes = try GraphFile.read(file, limits: limits)
        return try decode(bytes[...], path: file, limits: limits)
    }

    /// Decodes a binary SavedModel; `path` names the file in errors.
    public static func decode(_ bytes: ArraySlice<UInt8>, path: String, limits: GraphLimits = .standard) throws
        -> SavedModel
    {
        try decodingFile(path) {
            try ProtobufReader.decode(bytes, into: SavedModel()) { saved, reader, number, wireType in
                switch number {
                case 1: saved.schemaVersion = try reader.int64(wireType, field: 1, "saved_model_schema_version")
                case 2:
                    let message = try reader.message(wireType, field: 2, "meta_graphs")
                    let index = saved.metaGraphs.count
                    saved.metaGraphs.append(
                        try inField("meta_graphs[\(index)]") { try MetaGraphDef.decode(message, limits: limits) })
                default: try reader.skip(wireType)
                }
            }
        }
    }
}

/// `TrackableObjectGraph.TrackableObject.ObjectReference`: a named edge to another object.
public struct ObjectReference: Sendable, Equatable {
    public var nodeID: Int = 0
    public var localName: String = ""
    public init(nodeID: Int = 0, localName: String = "") {
        self.nodeID = nodeID
        self.localName = localName
    }

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> ObjectReference {
        try ProtobufReader.decode(bytes, into: ObjectReference()) { reference, reader, number, wireType in
            switch number {
            case 1:
                try ProtobufReader.expect(.varint, wireType, field: 1, "node_id")
                let id = try reader.int32("node_id")
                guard id >= 0 else { throw ProtobufReader.Malformed(reason: "node_id is \(id)") }
                reference.nodeID = Int(id)
            case 2: reference.localName = try reader.string(wireType, field: 2, "local_name")
            default: try reader.skip(wireType)
            }
        }
    }
}

/// `SavedVariable`: a variable of a TF2 SavedModel, under the name it was created with (`stem_bn/gamma`).
public struct SavedVariable: Sendable, Equatable {
    public var dtype: TFDataType = .invalid
    public var shape = TensorShapeProto()
    public var trainable = false
    public var name: String = ""
    public var device: String = ""
    public init() {}

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> SavedVariable {
        try ProtobufReader.decode(bytes, into: SavedVariable()) { variable, reader, number, wireType in
            switch number {
            case 1: variable.dtype = try TFDataType.read(&reader, wireType, field: 1, "variable.dtype")
            case 2:
                variable.shape = try TensorShapeProto.decode(try reader.message(wireType, field: 2, "variable.shape"))
            case 3: variable.trainable = try reader.varint(wireType, field: 3, "variable.trainable") != 0
            case 6: variable.name = try reader.string(wireType, field: 6, "variable.name")
            case 7: variable.device = try reader.string(wireType, field: 7, "variable.device")
            default: try reader.skip(wireType)
            }
        }
    }
}

/// `SavedObject`: one Python object of a TF2 SavedModel.
public struct SavedObject: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A `tf.Module`, Keras layer or other object, by its registered identifier (`_generic_user_object`).
        case userObject(identifier: String)
        case asset(fileIndex: Int)
        /// A `tf.function` and the concrete functions traced for it.
        case function(concreteFunctions: [String])
        case variable(SavedVariable)
        case bareConcreteFunction(name: String)
        /// A constant tensor, by its op in the meta graph.
        case constant(operation: String)
        case resource(device: String)
        case capturedTensor(name: String, concreteFunction: String)
        /// No kind set, or one this reader does not know.
        case other
    }

    public var children: [ObjectReference] = []
    public var kind = Kind.other
    public init() {}

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> SavedObject {
        try ProtobufReader.decode(bytes, into: SavedObject()) { object, reader, number, wireType in
            switch number {
            case 1:
                object.children.append(try ObjectReference.decode(try reader.message(wireType, field: 1, "children")))
            case 4:
                let message = try reader.message(wireType, field: 4, "user_object")
                object.kind = .userObject(identifier: try ProtobufReader.string(field: 1, of: message, "identifier"))
            case 5:
                var index: Int64 = 0
                try ProtobufReader.field(1, of: try reader.message(wireType, field: 5, "asset")) { asset, type in
                    index = try asset.int64(type, field: 1, "asset_file_def_index")
                }
                object.kind = .asset(fileIndex: Int(clamping: index))
            case 6:
                var names: [String] = []
                try ProtobufReader.field(1, of: try reader.message(wireType, field: 6, "function")) { function, type in
                    names.append(try function.string(type, field: 1, "concrete_functions"))
                }
                object.kind = .function(concreteFunctions: names)
            case 7:
                object.kind = .variable(try SavedVariable.decode(try reader.message(wireType, field: 7, "variable")))
            case 8:
                let message = try reader.message(wireType, field: 8, "bare_concrete_function")
                let name = try ProtobufReader.string(field: 1, of: message, "concrete_function_name")
                object.kind = .bareConcreteFunction(name: name)
            case 9:
                let message = try reader.message(wireType, field: 9, "constant")
                object.kind = .constant(operation: try ProtobufReader.string(field: 1, of: message, "operation"))
            case 10:
                let message = try reader.message(wireType, field: 10, "resource")
                object.kind = .resource(device: try ProtobufReader.string(field: 1, of: message, "device"))
            case 12:
                var name = ""
                var function = ""
                try ProtobufReader.fields(try reader.message(wireType, field: 12, "captured_tensor")) {
                    captured, field, type in
                    switch field {
                    case 1: name = try captured.string(type, field: 1, "captured_tensor.name")
                    case 2: function = try captured.string(type, field: 2, "captured_tensor.concrete_function")
                    default: try captured.skip(type)
                    }
                }
                object.kind = .capturedTensor(name: name, concreteFunction: function)
            default:
                try reader.skip(wireType)
            }
        }
    }
}

/// `SavedConcreteFunction`: the objects (variables, resources) bound to a concrete function's captured inputs.
public struct SavedConcreteFunction: Sendable, Equatable {
    /// Node ids in the object graph, in the order of the function's captured inputs.
    public var boundInputs: [Int] = []
    public init(boundInputs: [Int] = []) { self.boundInputs = boundInputs }

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> SavedConcreteFunction {
        var function = SavedConcreteFunction()
        var ids: [UInt64] = []
        try ProtobufReader.fields(bytes) { reader, number, wireType in
            if number == 2 {
                try reader.appendVarints(wireType, "bound_inputs", to: &ids)
            } else {
                try reader.skip(wireType)
            }
        }
        for id in ids {
            // int32 on the wire: a negative id is ten bytes of sign extension, never a valid node.
            guard let node = Int32(exactly: Int64(bitPattern: id)), node >= 0 else {
                throw ProtobufReader.Malformed(reason: "bound_inputs holds \(Int64(bitPattern: id))")
            }
            function.boundInputs.append(Int(node))
        }
        return function
    }
}

/// `SavedObjectGraph` (saved_object_graph.proto): a TF2 SavedModel's objects, `nodes[0]` the root.
public struct SavedObjectGraph: Sendable, Equatable {
    public var nodes: [SavedObject] = []
    public var concreteFunctions: [String: SavedConcreteFunction] = [:]
    public init() {}

    /// The variable objects a concrete function's captures are bound to, in capture order (nil for other objects).
    public func boundVariables(of function: String) -> [SavedVariable?]? {
        concreteFunctions[function].map { concrete in
            concrete.boundInputs.map { id in
                if case .variable(let variable) = nodes[id].kind { return variable }
                return nil
            }
        }
    }

    static func decode(_ bytes: ArraySlice<UInt8>, limits: GraphLimits) throws -> SavedObjectGraph {
        let count = try ProtobufReader.checkCount(field: 1, in: bytes, limit: limits.maxNodes, "objects")
        var graph = SavedObjectGraph()
        graph.nodes.reserveCapacity(count)
        try ProtobufReader.fields(bytes) { reader, number, wireType in
            switch number {
            case 1:
                let message = try reader.message(wireType, field: 1, "nodes")
                let index = graph.nodes.count
                graph.nodes.append(try inField("object \(index)") { try SavedObject.decode(message) })
            case 2:
                let (key, value) = try ProtobufReader.mapEntry(
                    try reader.message(wireType, field: 2, "concrete_functions"), "concrete_functions",
                    value: SavedConcreteFunction.decode, empty: SavedConcreteFunction())
                graph.concreteFunctions[key] = value
            default:
                try reader.skip(wireType)
            }
        }
        // Every reference must name an object of this graph, so lookups cannot trap.
        for (index, node) in graph.nodes.enumerated() {
            for child in node.children where child.nodeID >= graph.nodes.count {
                throw ProtobufReader.Malformed(
                    reason: "object \(index)'s child '\(child.localName)' is node \(child.nodeID), "
                        + "but the graph has \(graph.nodes.count)")
            }
        }
        for (name, function) in graph.concreteFunctions {
            for id in function.boundInputs where id >= graph.nodes.count {
                throw ProtobufReader.Malformed(
                    reason: "concrete function '\(name)' binds node \(id), but the graph has \(graph.nodes.count)")
            }
        }
        return graph
    }
}

/// `TrackableObjectGraph` (trackable_object_graph.proto): a TF2 checkpoint's object graph, stored as the string
/// tensor `_CHECKPOINTABLE_OBJECT_GRAPH`; it maps objects and their variables to checkpoint keys.
public struct TrackableObjectGraph: Sendable, Equatable {
    /// `SerializedTensor`: one saved value of an object.
    public struct Attribute: Sendable, Equatable {
        /// `VARIABLE_VALUE` for a variable.
        public var name: String = ""
        /// The variable's own name (`dense/kernel`).
        public var fullName: String = ""
        /// Its key in the bundle (`model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE`).
        public var checkpointKey: String = ""
        public init(name: String = "", fullName: String = "", checkpointKey: String = "") {
            self.name = name
            self.fullName = fullName
            self.checkpointKey = checkpointKey
        }
    }

    public struct Object: Sendable, Equatable {
        public var children: [ObjectReference] = []
        public var attributes: [Attribute] = []
        public init() {}
    }

    public var nodes: [Object] = []
    public init() {}

    /// Decodes the bytes of `_CHECKPOINTABLE_OBJECT_GRAPH`; `path` names the checkpoint in errors.
    public static func decode(_ bytes: ArraySlice<UInt8>, path: String, limits: GraphLimits = .standard) throws
        -> TrackableObjectGraph
    {
        try decodingFile(path) {
            let count = try ProtobufReader.checkCount(field: 1, in: bytes, limit: limits.maxNodes, "objects")
            var graph = TrackableObjectGraph()
            graph.nodes.reserveCapacity(count)
            try ProtobufReader.fields(bytes) { reader, number, wireType in
                guard number == 1 else { return try reader.skip(wireType) }
                var object = Object()
                try ProtobufReader.fields(try reader.message(wireType, field: 1, "nodes")) { node, field, type in
                    switch field {
                    case 1:
                        object.children.append(try ObjectReference.decode(try node.message(type, field: 1, "children")))
                    case 2:
                        var attribute = Attribute()
                        try ProtobufReader.fields(try node.message(type, field: 2, "attributes")) { tensor, key, kind in
                            switch key {
                            case 1: attribute.name = try tensor.string(kind, field: 1, "attributes.name")
                            case 2: attribute.fullName = try tensor.string(kind, field: 2, "attributes.full_name")
                            case 3:
                                attribute.checkpointKey = try tensor.string(kind, field: 3, "attributes.checkpoint_key")
                            default: try tensor.skip(kind)
                            }
                        }
                        object.attributes.append(attribute)
                    default: try node.skip(type)
                    }
                }
                graph.nodes.append(object)
            }
            for (index, node) in graph.nodes.enumerated() {
                for child in node.children where child.nodeID >= graph.nodes.count {
                    throw ProtobufReader.Malformed(
                        reason: "object \(index)'s child '\(child.localName)' is node \(child.nodeID), "
                            + "but the graph has \(graph.nodes.count)")
                }
            }
            return graph
        }
    }
}
