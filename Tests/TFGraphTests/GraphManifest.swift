import Foundation
import TestSupport

/// `Fixtures/graphs/manifest.json`, written by Scripts/fixtures/tf_graphs.py from TensorFlow's own protos: what
/// each fixture file holds.
struct GraphManifest: Decodable {
    struct Model: Decodable, Sendable, CustomStringConvertible {
        var name: String
        var kind: String
        var files: [String: String]
        var inputs: [String]?
        var outputs: [String]?
        var layers: [Layer]?
        var recorded: [String: [Int]]?
        var fileFacts: FileFacts?
        var checkpointObjects: CheckpointObjects?
        var expectedError: ExpectedError?
        var description: String { name }

        enum CodingKeys: String, CodingKey {
            case name, kind, files, inputs, outputs, layers, recorded
            case fileFacts = "file_facts"
            case checkpointObjects = "checkpoint_objects"
            case expectedError = "expected_error"
        }
    }

    struct Layer: Decodable, Sendable {
        var name: String
        var type: String
        var epsilon: Double?
        var variables: [String]
    }

    struct ExpectedError: Decodable, Sendable {
        var op: String?
        var node: String?
        var file: String?
    }

    /// A graph file's facts: a GraphDef's, or a meta graph's (with its graph), or a SavedModel's meta graphs.
    struct FileFacts: Decodable, Sendable {
        // GraphDef
        var nodeCount: Int?
        var opCounts: [String: Int]?
        var producer: Int?
        var functions: [Function]?
        var fusedBatchNorms: [FusedBatchNorm]?
        var consts: [Const]?
        var sampleNode: SampleNode?
        // MetaGraphDef
        var graph: Graph?
        var tags: [String]?
        var saver: Saver?
        var collections: [String: Collection]?
        var signatures: [String: Signature]?
        var objectGraph: ObjectGraph?
        // SavedModel
        var schemaVersion: Int?
        var metaGraphs: [FileFacts]?

        enum CodingKeys: String, CodingKey {
            case producer, functions, consts, graph, tags, saver, collections, signatures
            case nodeCount = "node_count"
            case opCounts = "op_counts"
            case fusedBatchNorms = "fused_batch_norms"
            case sampleNode = "sample_node"
            case objectGraph = "object_graph"
            case schemaVersion = "schema_version"
            case metaGraphs = "meta_graphs"
        }

        /// The GraphDef facts, wherever they sit.
        var graphFacts: Graph? {
            if let graph { return graph }
            if let nodeCount, let opCounts {
                return Graph(
                    nodeCount: nodeCount, opCounts: opCounts, producer: producer ?? 0, functions: functions ?? [],
                    fusedBatchNorms: fusedBatchNorms ?? [], consts: consts ?? [], sampleNode: sampleNode)
            }
            return nil
        }
    }

    struct Graph: Decodable, Sendable {
        var nodeCount: Int
        var opCounts: [String: Int]
        var producer: Int
        var functions: [Function]
        var fusedBatchNorms: [FusedBatchNorm]
        var consts: [Const]
        var sampleNode: SampleNode?

        enum CodingKeys: String, CodingKey {
            case producer, functions, consts
            case nodeCount = "node_count"
            case opCounts = "op_counts"
            case fusedBatchNorms = "fused_batch_norms"
            case sampleNode = "sample_node"
        }
    }

    struct Function: Decodable, Sendable {
        var name: String
        var nodeCount: Int
        /// `[name, dtype or type attr]`.
        var inputs: [[String]]
        var outputs: [[String]]
        var ret: [String: String]
        enum CodingKeys: String, CodingKey {
            case name, inputs, outputs, ret
            case nodeCount = "node_count"
        }
    }

    struct FusedBatchNorm: Decodable, Sendable {
        var node: String
        var op: String
        var epsilon: Double
        var isTraining: Bool
        var dataFormat: String
        var function: String?
        enum CodingKeys: String, CodingKey {
            case node, op, epsilon, function
            case isTraining = "is_training"
            case dataFormat = "data_format"
        }
    }

    struct Const: Decodable, Sendable {
        var node: String
        var dtype: String
        var shape: [Int]
        /// Little-endian bytes in hex, as `tf.make_ndarray` decoded the tensor.
        var bytes: String
        var encoding: String
        var function: String?
    }

    struct SampleNode: Decodable, Sendable {
        var name: String
        var op: String
        var inputs: [String]
        var device: String
    }

    struct Saver: Decodable, Sendable {
        var filenameTensorName: String
        var restoreOpName: String
        var version: Int
        enum CodingKeys: String, CodingKey {
            case version
            case filenameTensorName = "filename_tensor_name"
            case restoreOpName = "restore_op_name"
        }
    }

    struct Collection: Decodable, Sendable {
        var kind: String?
        var count: Int
        var values: [String]?
    }

    struct TensorInfo: Decodable, Sendable {
        var name: String
        var dtype: String?
        var shape: [Int]?
    }

    struct Signature: Decodable, Sendable {
        var methodName: String
        var inputs: [String: TensorInfo]
        var outputs: [String: TensorInfo]
        enum CodingKeys: String, CodingKey {
            case inputs, outputs
            case methodName = "method_name"
        }
    }

    struct ObjectGraph: Decodable, Sendable {
        struct Node: Decodable, Sendable {
            struct Variable: Decodable, Sendable {
                var name: String
                var dtype: String
                var shape: [Int]
                var trainable: Bool
            }
            var id: Int
            var kind: String?
            var children: [Child]
            var identifier: String?
            var variable: Variable?
            var concreteFunctions: [String]?
            var concreteFunctionName: String?
            enum CodingKeys: String, CodingKey {
                case id, kind, children, identifier, variable
                case concreteFunctions = "concrete_functions"
                case concreteFunctionName = "concrete_function_name"
            }
        }
        var nodes: [Node]
        var concreteFunctions: [String: [Int]]
        enum CodingKeys: String, CodingKey {
            case nodes
            case concreteFunctions = "concrete_functions"
        }
    }

    /// `[node_id, local_name]`.
    struct Child: Decodable, Sendable, Equatable {
        var id: Int
        var name: String
        init(from decoder: Decoder) throws {
            var container = try decoder.unkeyedContainer()
            id = try container.decode(Int.self)
            name = try container.decode(String.self)
        }
    }

    struct CheckpointObjects: Decodable, Sendable {
        struct Node: Decodable, Sendable {
            var children: [Child]
            /// `[name, full_name, checkpoint_key]`.
            var attributes: [[String]]
        }
        var nodes: [Node]
    }

    var models: [Model]

    static let shared: GraphManifest? = {
        guard let data = try? Data(contentsOf: fixture("graphs/manifest.json")) else { return nil }
        do {
            return try JSONDecoder().decode(GraphManifest.self, from: data)
        } catch {
            print("graphs/manifest.json: \(error)")
            return nil
        }
    }()

    static var models: [Model] { shared?.models ?? [] }

    /// The models whose graph file decodes (every one but the error fixtures).
    static var decodable: [Model] { models.filter { $0.expectedError == nil } }

    static func model(_ name: String) -> Model? { models.first { $0.name == name } }
}

/// Hex of bytes, as the manifest spells tensors.
func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var out = ""
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xf)])
    }
    return out
}
