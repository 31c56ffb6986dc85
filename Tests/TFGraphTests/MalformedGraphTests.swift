import Foundation
import TFGraph
import TensorCore
import TestSupport
import Testing

/// Protobuf bytes written by hand, for messages no TensorFlow would write.
struct Proto {
    var bytes: [UInt8] = []

    static func varintBytes(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
        return out
    }

    func varint(_ field: Int, _ value: UInt64) -> Proto {
        var copy = self
        copy.bytes += Self.varintBytes(UInt64(field << 3)) + Self.varintBytes(value)
        return copy
    }

    func int(_ field: Int, _ value: Int64) -> Proto { varint(field, UInt64(bitPattern: value)) }

    func bytes(_ field: Int, _ value: [UInt8]) -> Proto {
        var copy = self
        copy.bytes += Self.varintBytes(UInt64(field << 3 | 2)) + Self.varintBytes(UInt64(value.count)) + value
        return copy
    }

    func string(_ field: Int, _ value: String) -> Proto { bytes(field, Array(value.utf8)) }

    func message(_ field: Int, _ value: Proto) -> Proto { bytes(field, value.bytes) }

    func fixed32(_ field: Int, _ value: UInt32) -> Proto {
        var copy = self
        copy.bytes += Self.varintBytes(UInt64(field << 3 | 5)) + withUnsafeBytes(of: value.littleEndian) { Array($0) }
        return copy
    }

    /// `NodeDef { name, op, input... }`.
    static func node(_ name: String, _ op: String = "Identity", inputs: [String] = [], attrs: [(String, Proto)] = [])
        -> Proto
    {
        var node = Proto().string(1, name).string(2, op)
        for input in inputs { node = node.string(3, input) }
        for (key, value) in attrs { node = node.message(5, Proto().string(1, key).message(2, value)) }
        return node
    }

    /// A GraphDef of nodes.
    static func graph(_ nodes: [Proto]) -> Proto {
        nodes.reduce(Proto()) { $0.message(1, $1) }
    }

    /// A `Const` node holding `tensor`.
    static func const(_ name: String, _ tensor: Proto) -> Proto {
        node(name, "Const", attrs: [("value", Proto().message(8, tensor))])
    }

    /// `TensorShapeProto` of `dims`.
    static func shape(_ dims: [Int64]) -> Proto {
        dims.reduce(Proto()) { $0.message(2, Proto().int(1, $1)) }
    }
}

@Suite struct MalformedGraphTests {
    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: @Sendable () -> [UInt8]
        /// A fragment the message must contain.
        var reason: String
        /// The node the error must name, if any.
        var node: String?
        var testDescription: String { name }
    }

    static let floatTensor: Proto = Proto().int(1, 1).message(2, Proto.shape([2, 3]))

    static let bad: [Bad] = [
        Bad(
            name: "truncated in the middle of a node",
            bytes: { Array(Proto.graph([Proto.node("a"), Proto.node("layer0/W", "VariableV2")]).bytes.dropLast(3)) },
            reason: "claims", node: nil),
        Bad(
            name: "node name with the wrong wire type",
            bytes: { Proto.graph([Proto().varint(1, 7)]).bytes }, reason: "wire type", node: "node #0"),
        Bad(
            name: "op with the wrong wire type, after the name",
            bytes: { Proto.graph([Proto().string(1, "layer0/W").varint(2, 3)]).bytes }, reason: "(op) has wire type",
            node: "layer0/W"),
        Bad(
            name: "a length past the end of the file",
            bytes: { [0x0a, 0xff, 0x01, 0x0a, 0x00] }, reason: "claims 255 bytes", node: nil),
        Bad(
            name: "a varint that never ends",
            bytes: { [0x0a, 0x02, 0x10] + [UInt8](repeating: 0xff, count: 12) }, reason: "varint overflows", node: nil),
        Bad(
            name: "a name that is not UTF-8",
            bytes: { Proto.graph([Proto().bytes(1, [0xc3, 0x28])]).bytes }, reason: "not valid UTF-8", node: "node #0"
        ),
        Bad(
            name: "an attribute with a truncated value",
            bytes: {
                Proto.graph([
                    Proto.node("n", attrs: [("epsilon", Proto(bytes: [0x25, 0x01, 0x02]))])
                ]).bytes
            }, reason: "attr 'epsilon'", node: "n"),
        Bad(
            name: "function body node damaged",
            bytes: {
                let function = Proto().message(1, Proto().string(1, "f")).message(3, Proto().varint(1, 1))
                return Proto().message(2, Proto().message(1, function)).bytes
            }, reason: "wire type", node: "f/node #0"),
        Bad(
            name: "attribute values nested past the depth limit",
            bytes: {
                var value = Proto().int(3, 1)
                for _ in 0..<40 {
                    value = Proto().message(
                        10, Proto().string(1, "f").message(2, Proto().string(1, "a").message(2, value)))
                }
                return Proto.graph([Proto.node("deep", attrs: [("a", value)])]).bytes
            }, reason: "nest deeper", node: "deep"),
        Bad(
            name: "a list attribute with ints and floats",
            bytes: {
                let list = Proto().int(3, 1).fixed32(4, Float(2).bitPattern)
                return Proto.graph([Proto.node("mixed", attrs: [("strides", Proto().message(1, list))])]).bytes
            }, reason: "two types", node: "mixed"),
    ]

    /// A repeated field may come in several runs (unpacked values, then a packed run): one list of all of them.
    @Test func listAttributeRunsAreJoined() throws {
        let list = Proto().int(3, 1).bytes(3, [2, 2]).string(2, "unused by ints")
        let strings = Proto().string(2, "a").string(2, "b")
        let graph = try GraphDef.decode(
            Proto.graph([
                Proto.node("n", attrs: [("strides", Proto().message(1, Proto().int(3, 1).bytes(3, [2, 2])))]),
                Proto.node(
                    "s", attrs: [("names", Proto().message(1, strings)), ("none", Proto().message(1, Proto()))]),
            ]).bytes[...], path: "model.pb")
        #expect(graph.nodes[0].attr["strides"]?.listValue == .ints([1, 2, 2]))
        #expect(graph.nodes[1].attr["names"]?.listValue == .strings([Array("a".utf8), Array("b".utf8)]))
        #expect(graph.nodes[1].attr["none"]?.listValue == .empty)
        // A string after ints is a second type.
        #expect(throws: GraphError.self) {
            try GraphDef.decode(
                Proto.graph([Proto.node("x", attrs: [("l", Proto().message(1, list))])]).bytes[...], path: "m.pb")
        }
    }

    @Test(arguments: bad)
    func malformedGraphIsRefused(_ testCase: Bad) throws {
        let error = try #require(throws: GraphError.self) {
            try GraphDef.decode(testCase.bytes()[...], path: "model.pb")
        }
        #expect(error.path == "model.pb")
        #expect(error.member == testCase.node)
        #expect(error.reason.contains(testCase.reason), "\(error)")
        #expect("\(error)".hasPrefix("model.pb: "))
    }

    /// A million nodes are counted, not decoded: refused quickly, with nothing allocated per node.
    @Test func millionNodesRefusedBeforeDecoding() throws {
        // Each node is an empty message: `0a 00`, two bytes.
        let bytes = (0..<2_000_000).map { $0 % 2 == 0 ? UInt8(0x0a) : 0 }
        let start = Date()
        let error = try #require(throws: GraphError.self) { try GraphDef.decode(bytes[...], path: "huge.pb") }
        #expect(error == .tooMany(path: "huge.pb", what: "nodes", count: 1_000_000, limit: 200_000))
        #expect(Date().timeIntervalSince(start) < 5)
        #expect("\(error)" == "huge.pb: 1000000 nodes; tfparity takes at most 200000")
    }

    @Test func lowerNodeLimitApplies() throws {
        var limits = GraphLimits()
        limits.maxNodes = 2
        let bytes = Proto.graph([Proto.node("a"), Proto.node("b"), Proto.node("c")]).bytes
        #expect(throws: GraphError.tooMany(path: "g.pb", what: "nodes", count: 3, limit: 2)) {
            try GraphDef.decode(bytes[...], path: "g.pb", limits: limits)
        }
    }

    @Test func fileOverTheSizeLimitIsRefusedUnread() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("big.pb").path
        try Data(Proto.graph([Proto.node("a"), Proto.node("b")]).bytes).write(to: URL(fileURLWithPath: path))
        var limits = GraphLimits()
        limits.maxFileBytes = 8
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(throws: GraphError.tooLarge(path: path, size: size, limit: 8)) {
            try GraphDef.read(contentsOf: path, limits: limits)
        }
        #expect(throws: GraphError.unreadable(path: path + ".missing", reason: "no such file")) {
            try GraphDef.read(contentsOf: path + ".missing")
        }
    }

    /// The truncated fixture (a real meta graph cut short) is refused naming the file.
    @Test func truncatedMetaGraphFixture() throws {
        let model = try #require(GraphManifest.model("truncated_meta"))
        let path = fixture("graphs/\(try #require(model.files["meta"]))").path
        let error = try #require(throws: GraphError.self) { try MetaGraphDef.read(contentsOf: path) }
        guard case .malformed(let file, _, _) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(file == path)
    }

    /// The unsupported-op fixture still decodes: refusing RFFT is the importer's job, and it finds the op here.
    @Test func unsupportedOpFixtureDecodes() throws {
        let model = try #require(GraphManifest.model("unsupported_rfft"))
        let graph = try GraphDef.read(contentsOf: fixture("graphs/\(try #require(model.files["graph"]))").path)
        let expected = try #require(model.expectedError)
        #expect(graph.nodes.first { $0.op == expected.op }?.name == expected.node)
    }

    struct BadTensor: Sendable, CustomTestStringConvertible {
        var name: String
        var tensor: Proto
        var reason: String
        var unsupported = false
        var testDescription: String { name }
    }

    static let badTensors: [BadTensor] = [
        BadTensor(
            name: "tensor_content shorter than the shape",
            tensor: floatTensor.bytes(4, [UInt8](repeating: 0, count: 12)),
            reason: "tensor_content is 12 bytes, but shape [2, 3] of float32 takes 24"),
        BadTensor(
            name: "negative dimension", tensor: Proto().int(1, 1).message(2, Proto.shape([2, -3])),
            reason: "dimension 1 has size -3"),
        BadTensor(
            name: "unknown dimension in a constant", tensor: Proto().int(1, 1).message(2, Proto.shape([-1, 3])),
            reason: "not fully known"),
        BadTensor(
            name: "dimensions whose product overflows",
            tensor: Proto().int(1, 1).message(2, Proto.shape([1 << 40, 1 << 40])), reason: "overflows"),
        BadTensor(
            name: "a splatted value over a huge shape",
            tensor: Proto().int(1, 1).message(2, Proto.shape([1 << 20, 1 << 20])).fixed32(5, 0),
            reason: "are refused"),
        BadTensor(
            name: "more values than elements",
            tensor: Proto().int(1, 3).message(2, Proto.shape([2])).bytes(7, [1, 2, 3]),
            reason: "3 values for shape [2]"),
        BadTensor(
            name: "a string tensor", tensor: Proto().int(1, 7).message(2, Proto.shape([1])).string(8, "x"),
            reason: "string", unsupported: true),
        BadTensor(
            name: "a complex tensor", tensor: Proto().int(1, 8).message(2, Proto.shape([1])), reason: "complex64",
            unsupported: true),
    ]

    @Test(arguments: badTensors)
    func impossibleTensorIsRefused(_ testCase: BadTensor) throws {
        let bytes = Proto.graph([Proto.const("layer0/bn/Const", testCase.tensor)]).bytes
        // A negative dimension is refused while decoding; the rest once the tensor is made.
        let error = try #require(throws: GraphError.self) {
            let graph = try GraphDef.decode(bytes[...], path: "m.pb")
            let node = graph.nodes[0]
            _ = try #require(node.attr["value"]?.tensorValue).tensor(path: "m.pb", node: node.name)
        }
        #expect(error.member == "layer0/bn/Const")
        #expect(error.reason.contains(testCase.reason), "\(error)")
        if case .unsupportedDType = error { #expect(testCase.unsupported) } else { #expect(!testCase.unsupported) }
        #expect("\(error)".hasPrefix("m.pb: layer0/bn/Const: "))
    }

    struct GoodTensor: Sendable, CustomTestStringConvertible {
        var name: String
        var tensor: Proto
        var dtype: DType
        var shape: [Int]
        var values: [Double]
        var testDescription: String { name }
    }

    static let goodTensors: [GoodTensor] = [
        GoodTensor(
            name: "float_val splatted",
            tensor: Proto().int(1, 1).message(2, Proto.shape([2, 2])).fixed32(5, Float(1.5).bitPattern),
            dtype: .float32, shape: [2, 2], values: [1.5, 1.5, 1.5, 1.5]),
        GoodTensor(
            name: "float_val unpacked, last repeated",
            tensor: Proto().int(1, 1).message(2, Proto.shape([3])).fixed32(5, Float(1).bitPattern).fixed32(
                5, Float(2).bitPattern),
            dtype: .float32, shape: [3], values: [1, 2, 2]),
        GoodTensor(
            name: "no values is zeros", tensor: Proto().int(1, 3).message(2, Proto.shape([2])), dtype: .int32,
            shape: [2],
            values: [0, 0]),
        GoodTensor(
            name: "int_val packed with a negative",
            tensor: Proto().int(1, 3).message(2, Proto.shape([2])).bytes(
                7, Proto.varintBytes(5) + Proto.varintBytes(UInt64(bitPattern: -2))),
            dtype: .int32, shape: [2], values: [5, -2]),
        GoodTensor(
            name: "int8 through int_val",
            tensor: Proto().int(1, 6).message(2, Proto.shape([2])).int(7, -128).int(7, 127),
            dtype: .int8, shape: [2], values: [-128, 127]),
        GoodTensor(
            name: "half_val float16", tensor: Proto().int(1, 19).message(2, Proto.shape([1])).varint(13, 0x3c00),
            dtype: .float16, shape: [1], values: [1]),
        GoodTensor(
            name: "half_val bfloat16", tensor: Proto().int(1, 14).message(2, Proto.shape([1])).varint(13, 0x4040),
            dtype: .bfloat16, shape: [1], values: [3]),
        GoodTensor(
            name: "bool_val", tensor: Proto().int(1, 10).message(2, Proto.shape([2])).bytes(11, [1, 0]), dtype: .bool,
            shape: [2], values: [1, 0]),
        GoodTensor(
            name: "int64_val scalar", tensor: Proto().int(1, 9).int(10, -7), dtype: .int64, shape: [], values: [-7]),
        GoodTensor(
            name: "double_val",
            tensor: Proto().int(1, 2).message(2, Proto.shape([1])).bytes(
                6, withUnsafeBytes(of: Double(0.25).bitPattern.littleEndian) { Array($0) }),
            dtype: .float64, shape: [1], values: [0.25]),
        GoodTensor(
            name: "uint8 tensor_content",
            tensor: Proto().int(1, 4).message(2, Proto.shape([3])).bytes(4, [0, 200, 255]),
            dtype: .uint8, shape: [3], values: [0, 200, 255]),
    ]

    @Test(arguments: goodTensors)
    func tensorEncodings(_ testCase: GoodTensor) throws {
        let bytes = Proto.graph([Proto.const("c", testCase.tensor)]).bytes
        let graph = try GraphDef.decode(bytes[...], path: "m.pb")
        let tensor = try #require(graph.nodes[0].attr["value"]?.tensorValue).tensor(path: "m.pb", node: "c")
        #expect(tensor.dtype == testCase.dtype)
        #expect(tensor.shape == testCase.shape)
        #expect(tensor.doubleValues() == testCase.values)  // exact: small integers and dyadic fractions
    }
}

@Suite struct GraphOrderTests {
    struct Reference: Sendable, CustomTestStringConvertible {
        var text: String
        var parsed: TensorReference?
        var testDescription: String { text }
    }

    static let references: [Reference] = [
        Reference(text: "layer0/W", parsed: TensorReference(node: "layer0/W")),
        Reference(text: "split:1", parsed: TensorReference(node: "split", index: 1)),
        Reference(text: "^init", parsed: TensorReference(node: "init", isControl: true)),
        Reference(text: "MatMul:product:0", parsed: TensorReference(node: "MatMul", outputArgument: "product")),
        Reference(text: "split:output:2", parsed: TensorReference(node: "split", outputArgument: "output", index: 2)),
        Reference(text: "Identity:output", parsed: TensorReference(node: "Identity", outputArgument: "output")),
        Reference(text: "", parsed: nil),
        Reference(text: ":0", parsed: nil),
        Reference(text: "a:", parsed: nil),
        Reference(text: "a:b:c", parsed: nil),
        Reference(text: "a:1:2:3", parsed: nil),
        Reference(text: "^a:1", parsed: nil),
        Reference(text: "a:99999999999", parsed: nil),
    ]

    @Test(arguments: references)
    func inputsParse(_ testCase: Reference) {
        let parsed = TensorReference(parsing: testCase.text)
        #expect(parsed == testCase.parsed)
        if let parsed { #expect(TensorReference(parsing: parsed.description) == parsed) }
    }

    @Test func twoNodeCycleNamesANodeOnIt() throws {
        let bytes = Proto.graph([
            Proto.node("x", "Placeholder"), Proto.node("a", "AddV2", inputs: ["x", "b"]),
            Proto.node("b", "Relu", inputs: ["a"]), Proto.node("c", "Relu", inputs: ["b"]),
        ]).bytes
        let graph = try Graph(try GraphDef.decode(bytes[...], path: "cycle.pb"), path: "cycle.pb")
        let error = try #require(throws: GraphError.self) { try graph.topologicalOrder() }
        guard case .cycle(let path, let node) = error else {
            Issue.record("\(error)")
            return
        }
        #expect(path == "cycle.pb")
        #expect(["a", "b"].contains(node))
        #expect("\(error)".hasSuffix(": the graph has a cycle through this node"))
    }

    @Test func selfLoopIsACycle() throws {
        let graph = try Graph(GraphDef(nodes: [NodeDef(name: "a", op: "Relu", inputs: ["^a"])]), path: "g.pb")
        #expect(throws: GraphError.cycle(path: "g.pb", node: "a")) { try graph.topologicalOrder() }
    }

    /// A v1 while loop's back edge (NextIteration → Merge) is not a cycle.
    @Test func whileLoopBackEdgeIsNotACycle() throws {
        let graph = try Graph(
            GraphDef(nodes: [
                NodeDef(name: "enter", op: "Enter"), NodeDef(name: "merge", op: "Merge", inputs: ["enter", "next"]),
                NodeDef(name: "body", op: "Relu", inputs: ["merge"]),
                NodeDef(name: "next", op: "NextIteration", inputs: ["body"]),
            ]), path: "loop.pb")
        #expect(try graph.topologicalOrder().map { graph.nodes[$0].name } == ["enter", "merge", "body", "next"])
    }

    /// 60,000 nodes in a chain, listed last to first: ordered without recursion.
    @Test func longChainOrdersWithoutRecursion() throws {
        let count = 60_000
        var nodes = [NodeDef(name: "n0", op: "Placeholder")]
        for i in 1..<count { nodes.append(NodeDef(name: "n\(i)", op: "Relu", inputs: ["n\(i - 1)"])) }
        nodes.reverse()
        let graph = try Graph(GraphDef(nodes: nodes), path: "chain.pb")
        let order = try graph.topologicalOrder()
        #expect(order.map { graph.nodes[$0].name } == (0..<count).map { "n\($0)" })
    }

    @Test(arguments: [
        (["x:0", "missing"], GraphError.missingInput(path: "g.pb", node: "y", input: "missing")),
        (["x:out:0"], GraphError.badInput(path: "g.pb", node: "y", input: "x:out:0")),
        (["x::"], GraphError.badInput(path: "g.pb", node: "y", input: "x::")),
    ])
    func badInputsAreRefused(_ inputs: [String], _ expected: GraphError) throws {
        let definition = GraphDef(nodes: [
            NodeDef(name: "x", op: "Placeholder"), NodeDef(name: "y", op: "Relu", inputs: inputs),
        ])
        #expect(throws: expected) { try Graph(definition, path: "g.pb") }
    }

    @Test func duplicateNodeIsRefused() {
        let definition = GraphDef(nodes: [NodeDef(name: "x", op: "Placeholder"), NodeDef(name: "x", op: "Relu")])
        #expect(throws: GraphError.duplicateNode(path: "g.pb", node: "x")) { try Graph(definition, path: "g.pb") }
    }

    /// Function bodies: arguments are sources, `node:arg:N` inputs resolve to nodes, unknown names are refused.
    @Test func functionBodyOrders() throws {
        var function = FunctionDef()
        function.signature.name = "f"
        function.signature.inputs = [ArgDef(name: "x", type: .float)]
        function.nodes = [
            NodeDef(name: "relu", op: "Relu", inputs: ["mul:z:0"]),
            NodeDef(name: "mul", op: "Mul", inputs: ["x", "x:0"]),
        ]
        #expect(try function.topologicalOrder(path: "m.pb") == [1, 0])
        function.nodes.append(NodeDef(name: "bad", op: "Relu", inputs: ["nowhere:y:0"]))
        #expect(throws: GraphError.missingInput(path: "m.pb", node: "f/bad", input: "nowhere:y:0")) {
            try function.topologicalOrder(path: "m.pb")
        }
    }
}
