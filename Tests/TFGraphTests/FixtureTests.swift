import Foundation
import TFCheckpoint
import TFGraph
import TensorCore
import TestSupport
import Testing

/// The fixture's graph, read as the importer will read it.
struct LoadedModel {
    var graph: GraphDef
    var path: String
    var meta: MetaGraphDef?
    var savedModel: SavedModel?

    init(_ model: GraphManifest.Model) throws {
        if let meta = model.files["meta"] {
            path = fixture("graphs/\(meta)").path
            let decoded = try MetaGraphDef.read(contentsOf: path)
            self.meta = decoded
            graph = decoded.graph
        } else if let file = model.files["graph"] {
            path = fixture("graphs/\(file)").path
            graph = try GraphDef.read(contentsOf: path)
        } else {
            let directory = try #require(model.files["saved_model"])
            path = fixture("graphs/\(directory)").path
            let saved = try SavedModel.read(contentsOf: path)
            savedModel = saved
            let served = try #require(saved.metaGraph(tag: "serve"))
            meta = served
            graph = served.graph
        }
    }

    /// The node named `name` at the top level, or in the function named `function`.
    func node(_ name: String, in function: String? = nil) -> NodeDef? {
        guard let function else { return graph.nodes.first { $0.name == name } }
        return graph.functions.first { $0.name == function }?.nodes.first { $0.name == name }
    }
}

@Suite struct FixtureTests {
    @Test func manifestLoads() throws {
        let manifest = try #require(GraphManifest.shared)
        #expect(manifest.models.count >= 11)
        for kind in [
            "meta_graph", "frozen_graph", "saved_model_tf1", "saved_model_tf2", "saved_model_keras3",
            "saved_model_tf_keras",
        ] {
            #expect(manifest.models.contains { $0.kind == kind }, "no \(kind) fixture")
        }
    }

    /// Node and op counts, the producer version and every function's signature equal what TensorFlow read.
    @Test(arguments: GraphManifest.decodable)
    func graphStructureEqualsTensorFlow(_ model: GraphManifest.Model) throws {
        let loaded = try LoadedModel(model)
        let facts = try #require(model.fileFacts?.graphFacts ?? model.fileFacts?.metaGraphs?.first?.graphFacts)
        #expect(loaded.graph.nodes.count == facts.nodeCount)
        var ops: [String: Int] = [:]
        for node in loaded.graph.nodes { ops[node.op, default: 0] += 1 }
        #expect(ops == facts.opCounts)
        #expect(loaded.graph.versions.producer == Int64(facts.producer))
        #expect(loaded.graph.functions.map(\.name).sorted() == facts.functions.map(\.name))
        for expected in facts.functions {
            let function = try #require(loaded.graph.functions.first { $0.name == expected.name })
            #expect(function.nodes.count == expected.nodeCount, "\(expected.name)")
            #expect(
                function.signature.inputs.map { [$0.name, Self.typeName($0)] } == expected.inputs, "\(expected.name)")
            #expect(
                function.signature.outputs.map { [$0.name, Self.typeName($0)] } == expected.outputs, "\(expected.name)")
            #expect(function.ret == expected.ret, "\(expected.name)")
        }
        if let sample = facts.sampleNode {
            let node = try #require(loaded.node(sample.name))
            #expect(node.op == sample.op)
            #expect(node.inputs == sample.inputs)
            #expect(node.device == sample.device)
        }
    }

    static func typeName(_ argument: ArgDef) -> String {
        argument.type == .invalid ? argument.typeAttr : argument.type.description
    }

    /// Every small Const (top level and in functions) decodes to the bytes `tf.make_ndarray` gave, whichever encoding
    /// TensorFlow chose (tensor_content, float_val, int_val, a single value splatted over the shape...).
    @Test(arguments: GraphManifest.decodable)
    func constantsEqualTensorFlow(_ model: GraphManifest.Model) throws {
        let loaded = try LoadedModel(model)
        let facts = try #require(model.fileFacts?.graphFacts ?? model.fileFacts?.metaGraphs?.first?.graphFacts)
        #expect(!facts.consts.isEmpty)
        for expected in facts.consts {
            let node = try #require(loaded.node(expected.node, in: expected.function), "\(expected.node)")
            let proto = try #require(node.attr["value"]?.tensorValue, "\(expected.node)")
            let tensor = try proto.tensor(path: loaded.path, node: node.name)
            #expect(tensor.dtype.numpyName == expected.dtype, "\(expected.node)")
            #expect(tensor.shape == expected.shape, "\(expected.node)")
            #expect(hex(tensor.bytes) == expected.bytes, "\(expected.node)")
            #expect(proto.content.isEmpty == (expected.encoding == "values"), "\(expected.node)")
        }
    }

    /// Every FusedBatchNorm's epsilon, is_training and data_format attributes, top level and inside functions.
    @Test(arguments: GraphManifest.decodable)
    func fusedBatchNormAttributes(_ model: GraphManifest.Model) throws {
        let loaded = try LoadedModel(model)
        let facts = try #require(model.fileFacts?.graphFacts ?? model.fileFacts?.metaGraphs?.first?.graphFacts)
        for expected in facts.fusedBatchNorms {
            let node = try #require(loaded.node(expected.node, in: expected.function), "\(expected.node)")
            #expect(node.op == expected.op)
            // The attribute is a float32; the manifest holds that float32 widened, so the round trip is exact.
            #expect(node.attr["epsilon"]?.floatValue.map(Double.init) == expected.epsilon, "\(expected.node)")
            #expect((node.attr["is_training"]?.boolValue ?? false) == expected.isTraining, "\(expected.node)")
            #expect((node.attr["data_format"]?.text ?? "") == expected.dataFormat, "\(expected.node)")
        }
    }

    /// Every graph and function body orders topologically, inputs first, with every input resolved.
    @Test(arguments: GraphManifest.decodable)
    func graphsOrderTopologically(_ model: GraphManifest.Model) throws {
        let loaded = try LoadedModel(model)
        let graph = try Graph(loaded.graph, path: loaded.path)
        let order = try graph.topologicalOrder()
        #expect(order.count == graph.nodes.count)
        var placed = [Int](repeating: -1, count: graph.nodes.count)
        for (rank, position) in order.enumerated() { placed[position] = rank }
        for (position, inputs) in graph.inputs.enumerated() {
            for input in inputs {
                let source = try #require(graph.position(of: input.node))
                if graph.nodes[position].op == "Merge" && graph.nodes[source].op == "NextIteration" { continue }
                #expect(placed[source] < placed[position], "\(input) before \(graph.nodes[position].name)")
            }
        }
        for function in loaded.graph.functions {
            #expect(try function.topologicalOrder(path: loaded.path).count == function.nodes.count)
        }
        // Control flow v2 names its branches; they are in the library.
        for node in graph.nodes where node.op == "If" || node.op == "StatelessIf" {
            for branch in ["then_branch", "else_branch"] {
                let name = try #require(node.attr[branch]?.functionValue?.name)
                #expect(graph.function(named: name) != nil, "\(node.name) \(branch) \(name)")
            }
        }
    }

    /// Meta graph facts: tags, the saver, collections and signatures.
    @Test(arguments: GraphManifest.decodable.filter { $0.kind != "frozen_graph" })
    func metaGraphFacts(_ model: GraphManifest.Model) throws {
        let loaded = try LoadedModel(model)
        let meta = try #require(loaded.meta)
        let facts = try #require(model.fileFacts?.metaGraphs?.first ?? model.fileFacts)
        #expect(meta.tags == facts.tags)
        if let saver = facts.saver {
            #expect(meta.saver?.filenameTensorName == saver.filenameTensorName)
            #expect(meta.saver?.restoreOpName == saver.restoreOpName)
            #expect(meta.saver?.version == Int64(saver.version))
        } else {
            #expect(meta.saver == nil)
        }
        #expect(Set(meta.collections.keys) == Set((facts.collections ?? [:]).keys))
        for (key, expected) in facts.collections ?? [:] {
            let collection = try #require(meta.collections[key])
            switch collection {
            case .nodeList(let names):
                #expect(expected.kind == "node_list", "\(key)")
                #expect(names == expected.values, "\(key)")
            case .bytesList(let values):
                #expect(expected.kind == "bytes_list" && values.count == expected.count, "\(key)")
            case .int64List(let values):
                #expect(expected.kind == "int64_list" && values.count == expected.count, "\(key)")
            case .floatList(let values):
                #expect(expected.kind == "float_list" && values.count == expected.count, "\(key)")
            case .other:
                #expect(expected.kind == nil || expected.kind == "any_list", "\(key)")
            }
        }
        let signatures = facts.signatures ?? [:]
        #expect(Set(meta.signatures.keys) == Set(signatures.keys))
        for (key, expected) in signatures {
            let signature = try #require(meta.signatures[key])
            #expect(signature.methodName == expected.methodName)
            for (side, actual, want) in [
                ("inputs", signature.inputs, expected.inputs), ("outputs", signature.outputs, expected.outputs),
            ] {
                #expect(Set(actual.keys) == Set(want.keys), "\(key) \(side)")
                for (name, info) in want {
                    let tensor = try #require(actual[name])
                    #expect(tensor.name == info.name, "\(key) \(name)")
                    #expect((tensor.dtype == .invalid ? nil : tensor.dtype.description) == info.dtype, "\(key) \(name)")
                    #expect(tensor.shape.map { $0.unknownRank ? nil : $0.dims } ?? nil == info.shape, "\(key) \(name)")
                }
            }
        }
    }

    /// A TF2 SavedModel's object graph: every object's kind, children and variable, and each concrete function's
    /// bound inputs.
    @Test(arguments: GraphManifest.decodable.filter { $0.fileFacts?.metaGraphs?.first?.objectGraph != nil })
    func savedObjectGraph(_ model: GraphManifest.Model) throws {
        let loaded = try LoadedModel(model)
        let expected = try #require(model.fileFacts?.metaGraphs?.first?.objectGraph)
        #expect(loaded.savedModel?.schemaVersion == Int64(model.fileFacts?.schemaVersion ?? -1))
        let objects = try #require(loaded.meta?.objectGraph)
        #expect(objects.nodes.count == expected.nodes.count)
        for (object, want) in zip(objects.nodes, expected.nodes) {
            #expect(object.children.map(\.nodeID) == want.children.map(\.id), "object \(want.id)")
            #expect(object.children.map(\.localName) == want.children.map(\.name), "object \(want.id)")
            switch object.kind {
            case .userObject(let identifier):
                #expect(want.kind == "user_object" && identifier == want.identifier, "object \(want.id)")
            case .variable(let variable):
                let v = try #require(want.variable, "object \(want.id)")
                #expect(variable.name == v.name && variable.dtype.description == v.dtype, "object \(want.id)")
                #expect(variable.shape.dims == v.shape && variable.trainable == v.trainable, "object \(want.id)")
            case .function(let names):
                #expect(want.kind == "function" && names == want.concreteFunctions, "object \(want.id)")
            case .bareConcreteFunction(let name):
                #expect(want.kind == "bare_concrete_function" && name == want.concreteFunctionName, "object \(want.id)")
            case .asset, .constant, .resource, .capturedTensor:
                #expect(want.kind != nil && want.kind != "user_object", "object \(want.id)")
            case .other:
                #expect(want.kind == nil, "object \(want.id)")
            }
        }
        #expect(objects.concreteFunctions.mapValues(\.boundInputs) == expected.concreteFunctions)
    }

    /// The signature's concrete function captures exactly the model's variables, named as the layers say
    /// (the binding issue 16's importer makes).
    @Test(arguments: ["saved_model_module", "saved_model_keras3"])
    func signatureCapturesTheModelVariables(_ name: String) throws {
        let model = try #require(GraphManifest.model(name))
        let loaded = try LoadedModel(model)
        let objects = try #require(loaded.meta?.objectGraph)
        let signature = try #require(loaded.meta?.signatures["serving_default"])
        #expect(signature.inputs.count == 1)
        // The signature's function: the one a `signatures` child of the root calls.
        var bound = Set<String>()
        for (function, _) in objects.concreteFunctions {
            for variable in objects.boundVariables(of: function) ?? [] {
                if let variable { bound.insert(variable.name) }
            }
        }
        let layerVariables = Set((model.layers ?? []).flatMap(\.variables))
        #expect(bound == layerVariables)
    }

    /// The checkpoint's `_CHECKPOINTABLE_OBJECT_GRAPH`, read through TFCheckpoint and decoded here, equals
    /// TensorFlow's parse: every object's children and every variable's full name and checkpoint key.
    @Test(arguments: GraphManifest.decodable.filter { $0.checkpointObjects != nil })
    func checkpointObjectGraph(_ model: GraphManifest.Model) throws {
        let expected = try #require(model.checkpointObjects)
        let directory = fixture("graphs/\(try #require(model.files["saved_model"]))").path
        let bundle = try TensorBundle(path: directory)
        let elements = try bundle.stringElements(named: "_CHECKPOINTABLE_OBJECT_GRAPH")
        #expect(elements.count == 1)
        let graph = try TrackableObjectGraph.decode(elements[0][...], path: bundle.indexPath)
        #expect(graph.nodes.count == expected.nodes.count)
        for (node, want) in zip(graph.nodes, expected.nodes) {
            #expect(node.children.map(\.nodeID) == want.children.map(\.id))
            #expect(node.children.map(\.localName) == want.children.map(\.name))
            #expect(node.attributes.map { [$0.name, $0.fullName, $0.checkpointKey] } == want.attributes)
        }
        // Every key the object graph names is a tensor of the bundle.
        for attribute in graph.nodes.flatMap(\.attributes) {
            #expect(bundle.entry(named: attribute.checkpointKey) != nil, "\(attribute.checkpointKey)")
        }
    }

    struct Epsilon: Sendable, CustomTestStringConvertible {
        var model: String
        var node: String
        var function: String?
        var epsilon: Float
        var testDescription: String { "\(model): \(node)" }
    }

    /// The numbers only the graph knows: the epsilon constant of the decomposed arithmetic, the fused op's attribute.
    @Test(arguments: [
        Epsilon(model: "seed_cf1", node: "layer0/bn/batchnorm/add/y", epsilon: 1e-3),
        Epsilon(model: "seed_cf2", node: "layer1/bn/batchnorm/add/y", epsilon: 1e-3),
        Epsilon(model: "tiny_eps1e5", node: "layer0/bn/batchnorm/add/y", epsilon: 1e-5),
        Epsilon(model: "saved_model_module", node: "batchnorm/add/y", function: "__inference_serve_57", epsilon: 1e-4),
        Epsilon(model: "cnn", node: "conv1_bn/cond/FusedBatchNormV3_1", epsilon: 1e-3),
        Epsilon(model: "cnn_frozen", node: "dw_bn/cond/FusedBatchNormV3_1", epsilon: 1e-5),
    ])
    func epsilonFromTheGraph(_ testCase: Epsilon) throws {
        let loaded = try LoadedModel(try #require(GraphManifest.model(testCase.model)))
        let node = try #require(loaded.node(testCase.node, in: testCase.function))
        if node.op == "Const" {
            let tensor = try #require(node.attr["value"]?.tensorValue).tensor(path: loaded.path, node: node.name)
            #expect(tensor.shape == [] && tensor.floatValues() == [testCase.epsilon])
        } else {
            #expect(node.attr["epsilon"]?.floatValue == testCase.epsilon)
            #expect(node.attr["is_training"]?.boolValue == false)
        }
    }

    /// The expected layers name only variables the checkpoint holds (what the importer will bind).
    @Test(arguments: GraphManifest.decodable.filter { $0.kind == "meta_graph" || $0.kind == "saved_model_tf1" })
    func layerVariablesAreInTheCheckpoint(_ model: GraphManifest.Model) throws {
        let relative = try #require(model.files["checkpoint"] ?? model.files["saved_model"])
        let prefix = fixture("graphs/\(relative)").path
        let bundle = try TensorBundle(path: prefix)
        let loaded = try LoadedModel(model)
        for variable in (model.layers ?? []).flatMap(\.variables) {
            #expect(bundle.entry(named: variable) != nil, "\(variable)")
            let node = try #require(loaded.node(variable), "\(variable)")
            #expect(["VariableV2", "VarHandleOp"].contains(node.op), "\(variable): \(node.op)")
        }
    }
}

@Suite struct CheckpointStringTests {
    /// TFCheckpoint's string accessor on the dtypes fixture (`tf.raw_ops.SaveV2` of `[b"alpha", b"", b"gamma"]`).
    @Test func stringTensorElements() throws {
        let bundle = try TensorBundle(path: fixture("checkpoints/dtypes/dtypes.ckpt").path)
        let elements = try bundle.stringElements(named: "strings")
        #expect(elements == [Array("alpha".utf8), [], Array("gamma".utf8)])
        #expect(throws: CheckpointError.self) { try bundle.stringElements(named: "float64") }
    }
}
