import Foundation
import NumPyFormat
import ONNXFormat
import ProtobufWire
import TensorCore
import TestSupport
import Testing

/// A graph built from a fixture's TF-layout weights, and the fixture holding its `input` and numpy's `output`.
struct GraphCase: CustomStringConvertible, Sendable {
    var name: String
    /// The largest model written as one file: 0 forces external data.
    var externalDataThreshold: Int
    var build: @Sendable (NPZArchive) throws -> ONNXModel
    var fixture: String { "onnx/\(name).npz" }
    var description: String { externalDataThreshold == 0 ? "\(name) (external data)" : name }
}

/// `tensor` (float32, C order) with its axes permuted: result axis `k` is source axis `permutation[k]`.
func permuted(_ tensor: Tensor, _ permutation: [Int]) -> Tensor {
    let source = tensor.floatValues()
    let shape = permutation.map { tensor.shape[$0] }
    var sourceStrides = [Int](repeating: 1, count: tensor.rank)
    for k in stride(from: tensor.rank - 2, through: 0, by: -1) {
        sourceStrides[k] = sourceStrides[k + 1] * tensor.shape[k + 1]
    }
    var out = [Float](repeating: 0, count: source.count)
    var index = [Int](repeating: 0, count: shape.count)
    for i in 0..<out.count {
        out[i] = source[zip(index, permutation).reduce(0) { $0 + $1.0 * sourceStrides[$1.1] }]
        var k = shape.count - 1
        while k >= 0 {
            index[k] += 1
            if index[k] < shape[k] { break }
            index[k] = 0
            k -= 1
        }
    }
    return Tensor(shape: shape, floats: out)
}

/// Keras' Conv2D(8, 3, strides=2, padding="same") → BatchNormalization(epsilon=1e-3) → ReLU → MaxPool2D(3, 2, "same")
/// → Flatten → Dense(5) → Softmax, on an NHWC `[N, 8, 7, 4]` input: NCHW inside (the layout onnxruntime's Conv
/// runs), Transposes at the input and before Flatten (so it flattens in NHWC order, as Keras does); TF's SAME padding
/// as explicit pads (H pads 0 before, 1 after; W 1 and 1).
func convNet(_ weights: NPZArchive) throws -> ONNXModel {
    var graph = ONNXGraphBuilder(name: "conv_net")
    let input = graph.addInput("input", shape: ["N", 8, 7, 4])
    // HWIO → OIHW.
    let kernel = graph.addInitializer(
        "conv1/kernel", permuted(try weights.tensor(named: "conv1/kernel"), [3, 2, 0, 1]))
    var parameters: [String: String] = [:]
    for name in [
        "conv1/bias", "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance", "dense/kernel", "dense/bias",
    ] {
        parameters[name] = graph.addInitializer(name, try weights.tensor(named: name))
    }
    let p = { (name: String) in parameters[name]! }
    let nchw = graph.addNode(
        "Transpose", inputs: [input], name: "input/nchw", attributes: [.ints("perm", [0, 3, 1, 2])])
    let conv = graph.addNode(
        "Conv", inputs: [nchw, kernel, p("conv1/bias")], name: "conv1",
        attributes: [.ints("kernel_shape", [3, 3]), .ints("pads", [0, 1, 1, 1]), .ints("strides", [2, 2])])
    let bn = graph.addNode(
        "BatchNormalization",
        inputs: [conv, p("bn/gamma"), p("bn/beta"), p("bn/moving_mean"), p("bn/moving_variance")], name: "bn",
        attributes: [.float("epsilon", 1e-3)])
    let relu = graph.addNode("Relu", inputs: [bn], name: "relu")
    let pool = graph.addNode(
        "MaxPool", inputs: [relu], name: "pool",
        attributes: [.ints("kernel_shape", [3, 3]), .ints("pads", [0, 0, 1, 1]), .ints("strides", [2, 2])])
    let nhwc = graph.addNode("Transpose", inputs: [pool], name: "pool/nhwc", attributes: [.ints("perm", [0, 2, 3, 1])])
    let flat = graph.addNode("Flatten", inputs: [nhwc], name: "flatten", attributes: [.int("axis", 1)])
    let logits = graph.addNode("Gemm", inputs: [flat, p("dense/kernel"), p("dense/bias")], name: "dense")
    graph.addNode("Softmax", inputs: [logits], outputs: ["output"], name: "softmax", attributes: [.int("axis", -1)])
    graph.addOutput("output", shape: ["N", 5])
    return graph.model(metadata: [ONNXStringEntry(key: "source", value: "conv_net.npz")])
}

/// Dense(32, relu) → Dense(16) as MatMul + Add (the lowering for any rank; Gemm only takes 2-D).
func denseNet(_ weights: NPZArchive) throws -> ONNXModel {
    var graph = ONNXGraphBuilder(name: "dense_net")
    var x = graph.addInput("input", shape: ["N", 24])
    for (layer, activation) in [("dense1", true), ("dense2", false)] {
        let kernel = graph.addInitializer("\(layer)/kernel", try weights.tensor(named: "\(layer)/kernel"))
        let bias = graph.addInitializer("\(layer)/bias", try weights.tensor(named: "\(layer)/bias"))
        x = graph.addNode("MatMul", inputs: [x, kernel], name: "\(layer)/MatMul")
        x = graph.addNode("Add", inputs: [x, bias], name: "\(layer)/BiasAdd")
        if activation { x = graph.addNode("Relu", inputs: [x], name: "\(layer)/Relu") }
    }
    graph.addNode("Identity", inputs: [x], outputs: ["output"], name: "output")
    graph.addOutput("output", shape: ["N", 16])
    return graph.model()
}

@Suite struct GraphTests {
    static let graphs = [
        GraphCase(name: "conv_net", externalDataThreshold: ONNXModel.protobufLimit, build: convNet),
        GraphCase(name: "dense_net", externalDataThreshold: ONNXModel.protobufLimit, build: denseNet),
        GraphCase(name: "dense_net", externalDataThreshold: 0, build: denseNet),
    ]

    /// A Python with onnx and onnxruntime (`ONNXCheck.python`).
    static let pythonWithONNX = ONNXCheck.python

    /// The written model passes onnx's full check and onnxruntime reproduces numpy's output (Scripts/check_onnx.py).
    @Test(
        .enabled(
            if: pythonWithONNX != nil,
            "needs a Python with onnx and onnxruntime (Scripts/test.sh makes one; or set ONNX_CHECK_PYTHON)"),
        arguments: graphs)
    func onnxruntimeReproducesNumpy(_ graph: GraphCase) throws {
        let python = try #require(Self.pythonWithONNX)
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("\(graph.name).onnx").path
        let model = try graph.build(try NPZArchive(path: fixture(graph.fixture).path))
        let written = try model.write(to: path, externalDataThreshold: graph.externalDataThreshold)
        #expect((written.externalDataPath != nil) == (graph.externalDataThreshold == 0))
        let expected = fixture(graph.fixture).path
        let result = try runProcess(
            URL(fileURLWithPath: python),
            ["Scripts/check_onnx.py", path, "--expect", expected, "--atol", "1e-5", "--rtol", "1e-4"],
            in: repositoryRoot)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("passed (full_check)") && result.stdout.contains("max abs error"))
    }

    /// check_onnx.py fails a model whose output is not the expected one (exit 1), rather than passing it.
    @Test(
        .enabled(
            if: pythonWithONNX != nil,
            "needs a Python with onnx and onnxruntime (Scripts/test.sh makes one; or set ONNX_CHECK_PYTHON)"))
    func checkFailsAMismatch() throws {
        let python = try #require(Self.pythonWithONNX)
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("dense.onnx").path
        var model = try denseNet(try NPZArchive(path: fixture("onnx/dense_net.npz").path))
        // The second bias, off by 0.01: the output no longer matches the recording.
        let index = try #require(model.graph.initializers.firstIndex { $0.name == "dense2/bias" })
        model.graph.initializers[index] = ONNXTensor(
            name: "dense2/bias", shape: [16],
            floats: try NPZArchive(path: fixture("onnx/dense_net.npz").path).tensor(named: "dense2/bias").floatValues()
                .map { $0 + 0.01 })
        try model.write(to: path)
        let result = try runProcess(
            URL(fileURLWithPath: python),
            ["Scripts/check_onnx.py", path, "--expect", fixture("onnx/dense_net.npz").path], in: repositoryRoot)
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("FAILED: 48 of 48 elements outside"))
    }

    @Test func inlineModelIsItsEncoding() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("conv.onnx").path
        let model = try convNet(try NPZArchive(path: fixture("onnx/conv_net.npz").path))
        let written = try model.write(to: path)
        #expect(written == ONNXWriteResult(modelBytes: model.encodedSize, externalDataPath: nil, externalDataBytes: 0))
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == model.serializedBytes())
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["conv.onnx"])
    }

    /// Over the threshold, tensors of 1 KiB or more go to `<model>.data` at 64 KiB-aligned offsets; smaller ones stay.
    @Test func externalDataLayout() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("dense.onnx").path
        let model = try denseNet(try NPZArchive(path: fixture("onnx/dense_net.npz").path))
        let written = try model.write(to: path, externalDataThreshold: 0)
        #expect(written.externalDataPath == path + ".data")
        #expect(written.externalDataBytes == 65536 + 32 * 16 * 4)

        var expected = model
        let placement = ["dense1/kernel": 0, "dense2/kernel": 65536]
        var data = [UInt8](repeating: 0, count: written.externalDataBytes)
        for index in expected.graph.initializers.indices {
            let tensor = expected.graph.initializers[index]
            guard let offset = placement[tensor.name], case .raw(let bytes) = tensor.contents else { continue }
            data.replaceSubrange(offset..<offset + bytes.count, with: bytes)
            expected.graph.initializers[index].contents = .external(
                ONNXExternalData(location: "dense.onnx.data", offset: offset, length: bytes.count))
        }
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == expected.serializedBytes())
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + ".data"))) == data)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
                == ["dense.onnx", "dense.onnx.data"])
    }

    /// Over the threshold but with no initializer of 1 KiB: one file, no empty data file.
    @Test func smallInitializersStayInOneFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("small.onnx").path
        var graph = ONNXGraphBuilder(name: "small")
        let x = graph.addInput("x", shape: ["N", 4])
        let bias = graph.addInitializer("bias", shape: [4], floats: [1, 2, 3, 4])
        graph.addNode("Add", inputs: [x, bias], outputs: ["y"])
        graph.addOutput("y", shape: ["N", 4])
        let written = try graph.model().write(to: path, externalDataThreshold: 0)
        #expect(written.externalDataPath == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["small.onnx"])
    }

    @Test func missingDirectoryFailsNamingTheFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("absent/m.onnx").path
        let model = try denseNet(try NPZArchive(path: fixture("onnx/dense_net.npz").path))
        for threshold in [ONNXModel.protobufLimit, 0] {
            let error = #expect(throws: ONNXError.self) { try model.write(to: path, externalDataThreshold: threshold) }
            #expect(error?.path.hasPrefix(path) == true)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func existingModelIsReplacedWhole() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory) }
        let path = directory.appendingPathComponent("m.onnx").path
        try Data(repeating: 0xff, count: 100_000).write(to: URL(fileURLWithPath: path))
        let model = try denseNet(try NPZArchive(path: fixture("onnx/dense_net.npz").path))
        try model.write(to: path)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == model.serializedBytes())
    }

    @Test func builderKeepsNamesUnique() {
        var graph = ONNXGraphBuilder(name: "g")
        let x = graph.addInput("x", shape: ["N", 2])
        #expect(graph.uniqueName("x") == "x_1")
        #expect(graph.uniqueName("x") == "x_2")
        let first = graph.addInitializer("w", shape: [2], floats: [1, 2])
        let second = graph.addInitializer("w", shape: [], int64s: [3])
        #expect([first, second] == ["w", "w_1"])
        let a = graph.addNode("Add", inputs: [x, first])
        let b = graph.addNode("Add", inputs: [a, first])
        #expect([a, b] == ["Add", "Add_1"])
        #expect(graph.graph.nodes.map(\.name) == ["Add", "Add_1"])
        graph.addOutput(b, shape: ["N", 2])
        #expect(graph.graph.outputs == [ONNXValueInfo(name: "Add_1", shape: ["N", 2])])
        #expect(graph.graph.initializers[1].dataType == .int64 && graph.graph.initializers[1].dims == [])
    }

    struct OpsetCase: Sendable, CustomStringConvertible {
        var opset: Int
        var irVersion: Int
        var description: String { "opset \(opset)" }
    }

    /// onnx's `helper.VERSION_TABLE`: the IR version of the release that introduced each opset.
    @Test(arguments: [
        OpsetCase(opset: 13, irVersion: 7), OpsetCase(opset: 17, irVersion: 8), OpsetCase(opset: 18, irVersion: 8),
        OpsetCase(opset: 20, irVersion: 9), OpsetCase(opset: 21, irVersion: 10), OpsetCase(opset: 23, irVersion: 11),
        OpsetCase(opset: 24, irVersion: 12), OpsetCase(opset: 27, irVersion: 13), OpsetCase(opset: 28, irVersion: 14),
    ])
    func irVersionFollowsTheOpset(_ version: OpsetCase) {
        #expect(ONNXModel.irVersion(forOpset: version.opset) == version.irVersion)
        #expect(ONNXModel(graph: ONNXGraph(name: "g"), opset: version.opset).irVersion == version.irVersion)
    }

    @Test func defaultOpsetIsOnnxruntimesNewest() {
        #expect(ONNXModel.defaultOpset == 28)
        #expect(ONNXModel(graph: ONNXGraph(name: "g")).irVersion == 14)
    }
}
