import ProtobufWire
import TensorCore

/// `keras_metadata.pb` (tf_keras' saved_metadata.proto): the Keras config of each object of a tf_keras SavedModel.
public struct KerasMetadata: Sendable, Equatable {
    /// `SavedObject`: one Keras object, its path from the root (`root`, `root.layer-1`) and its JSON metadata.
    public struct Object: Sendable, Equatable {
        public var nodeID: Int = 0
        public var nodePath: String = ""
        /// `_tf_keras_network`, `_tf_keras_layer`, …
        public var identifier: String = ""
        /// JSON: `class_name`, `config`, … as tf_keras' `_tracking_metadata` writes it.
        public var metadata: String = ""
        public init() {}
    }

    public var objects: [Object] = []
    public init() {}

    /// The root object (`node_path` `root`): the model.
    public var root: Object? { objects.first { $0.nodePath == "root" } }

    /// Reads `keras_metadata.pb`, refusing files over `limits.maxFileBytes` unread.
    public static func read(contentsOf path: String, limits: GraphLimits = .standard) throws -> KerasMetadata {
        let bytes = try GraphFile.read(path, limits: limits)
        return try decodingFile(path) {
            let count = try ProtobufReader.checkCount(field: 1, in: bytes[...], limit: limits.maxNodes, "objects")
            var metadata = KerasMetadata()
            metadata.objects.reserveCapacity(count)
            try ProtobufReader.fields(bytes[...]) { reader, number, wireType in
                guard number == 1 else { return try reader.skip(wireType) }
                var object = Object()
                try ProtobufReader.fields(try reader.message(wireType, field: 1, "nodes")) { node, field, type in
                    switch field {
                    case 2: object.nodeID = Int(try node.int64(type, field: 2, "node_id"))
                    case 3: object.nodePath = try node.string(type, field: 3, "node_path")
                    case 4: object.identifier = try node.string(type, field: 4, "identifier")
                    case 5: object.metadata = try node.string(type, field: 5, "metadata")
                    default: try node.skip(type)
                    }
                }
                metadata.objects.append(object)
            }
            return metadata
        }
    }
}
