import ONNXFormat
import ParityModel
import TensorCore

/// Where the graph's 4-D inputs and outputs keep their channels.
public enum ONNXLayout: String, Sendable, CaseIterable {
    /// `[N, H, W, C]`: the model's own data order, so a TensorFlow recording's input feeds it unchanged.
    case nhwc
    /// `[N, C, H, W]`, for runtimes and callers that hold images channels-first.
    case nchw
}

/// How `ONNXExporter.export` writes the graph.
public struct ONNXExportOptions: Sendable {
    public var opset: Int
    public var layout: ONNXLayout
    /// Each input's full shape (batch first; the batch is written as the symbolic `N`); nil to infer what the model
    /// says (`ONNXExporter.inferredInputShapes`).
    public var inputShapes: [String: [Int]]?
    /// `metadata_props` entries after the model's provenance (tool version, the recording, …).
    public var metadata: [ONNXStringEntry]
    public var producerVersion: String

    public init(
        opset: Int = ONNXModel.defaultOpset, layout: ONNXLayout = .nhwc, inputShapes: [String: [Int]]? = nil,
        metadata: [ONNXStringEntry] = [], producerVersion: String = ""
    ) {
        self.opset = opset
        self.layout = layout
        self.inputShapes = inputShapes
        self.metadata = metadata
        self.producerVersion = producerVersion
    }
}

/// Lowers a tfparity layer graph to an ONNX model, layer by layer through `ONNXLoweringRegistry`.
///
/// The graph's inputs and outputs are NHWC by default with a symbolic batch `N`, named as the model names them: a
/// model of one input and one output reads `input` and writes `output`; one of several inputs reads each under its
/// Keras name (`image` for the model's `input/image`), and one of several outputs writes each under its layer's
/// name, in the model's order (`ONNXExporter.graphInputName`, `graphOutputNames`). Inside, images run channels-first around the operators ONNX defines on NCHW (Conv, the
/// pools, BatchNormalization, Pad, Slice) — the layout onnxruntime's and most runtimes' convolution kernels take
/// natively — and are transposed back only before what depends on NHWC element order (Flatten, Reshape, Dense) and at
/// the output. Weights are permuted at export time, so no Transpose runs on them.
public enum ONNXExporter {
    /// 11 is where Pad, Clip and Slice take their bounds as inputs (the form the lowerings write); the newest is what
    /// onnxruntime's current release runs.
    public static let supportedOpsets = 11...ONNXModel.defaultOpset

    /// The ONNX model computing `model`.
    /// - Throws: `ONNXExportError` naming the first layer with no lowering, one the opset cannot express, or a graph
    ///   that does not check for the input shapes.
    public static func export(
        model: Model, options: ONNXExportOptions = .init(), lowerings: ONNXLoweringRegistry = .standard
    ) throws(ONNXExportError) -> ONNXModel {
        guard supportedOpsets.contains(options.opset) else { throw .unsupportedOpset(options.opset) }
        let inputShapes =
            try options.inputShapes.map { given throws(ONNXExportError) in
                try checkedInputShapes(given, model: model)
            } ?? inferredInputShapes(model)
        for name in model.inputNames where inputShapes[name]?.rank == nil {
            throw .inputShape(
                input: name, reason: "its rank cannot be inferred from the model; give its shape (or a recording)")
        }
        let shapes: [String: ValueShape]
        do {
            shapes = try LayerGraph.check(model.layers, inputs: inputShapes) { model.parameters[$0]?.shape }
        } catch {
            let (layer, reason) = error.layerAndReason
            throw .graph(layer: layer, reason: reason)
        }
        guard model.outputLayer != nil else { throw .graph(layer: nil, reason: "the model has no layers") }

        var graph = ONNXGraphBuilder(name: model.provenance.map { "tfparity: \($0.source)" } ?? "tfparity")
        var values: [String: LoweredValue] = [:]
        for name in model.inputNames {
            let shape = inputShapes[name] ?? .unknown
            let channelsFirst = options.layout == .nchw && shape.rank == 4
            let graphName = graphInputName(name, of: model)
            graph.addInput(graphName, shape: dimensions(shape, channelsFirst: channelsFirst))
            values[name] = LoweredValue(name: graphName, channelsFirst: channelsFirst)
        }
        // Reserved before any node, so a layer named `output` cannot take a graph output's name.
        let outputNames = graphOutputNames(model).map { graph.uniqueName($0) }
        var allShapes = shapes
        for (name, shape) in inputShapes { allShapes[name] = shape }
        var context = LoweringContext(graph: graph, opset: options.opset, model: model, shapes: allShapes)
        context.values = values
        for layer in model.layers {
            guard let lowering = lowerings.lowering(for: layer.op.typeName) else {
                throw .unsupportedLayer(layer: layer.name, type: layer.op.typeName)
            }
            context.begin(layer)
            guard layer.precision != .float32 else {
                context.values[layer.name] = try lowering.lowerAny(layer.op, in: &context)
                continue
            }
            // A layer computing in float16/bfloat16 (a Keras mixed-precision policy) sees its inputs and gives its
            // output rounded to that precision, as the engine (and Keras' casts) do: Cast down and back up.
            let type: ONNXDataType = layer.precision == .float16 ? .float16 : .bfloat16
            let saved = layer.inputs.map { ($0, context.values[$0]) }
            for (name, value) in saved {
                guard var value else { continue }
                value.name = context.rounded(value.name, to: type)
                context.values[name] = value
            }
            var output = try lowering.lowerAny(layer.op, in: &context)
            for (name, value) in saved { context.values[name] = value }
            output.name = context.rounded(output.name, to: type)
            context.values[layer.name] = output
        }

        var finals: [(value: String, dimensions: [ONNXDimension])] = []
        for name in model.outputNames {
            guard let result = context.values[name] else { preconditionFailure("output '\(name)' not lowered") }
            let outputShape = context.shape(of: name)
            let channelsFirst = options.layout == .nchw && outputShape.rank == 4
            let final = channelsFirst ? context.channelsFirst(result) : context.channelsLast(result)
            finals.append((final, dimensions(outputShape, channelsFirst: channelsFirst)))
        }
        graph = context.finishGraph()
        for (outputName, final) in zip(outputNames, finals) {
            graph.addNode("Identity", inputs: [final.value], outputs: [outputName], name: outputName)
            graph.addOutput(outputName, shape: final.dimensions)
        }
        return graph.model(
            opset: options.opset, producerVersion: options.producerVersion,
            metadata: provenance(model) + [ONNXStringEntry(key: "layout", value: options.layout.rawValue)]
                + options.metadata)
    }

    /// The graph input standing for the model input `name`: `input` for a model of one input, the Keras input's
    /// name for one of several (`input/image` → `image`), so a recording's `input/<name>` feeds `<name>`.
    public static func graphInputName(_ name: String, of model: Model) -> String {
        let prefix = Model.inputName + "/"
        guard model.inputNames.count > 1, name.hasPrefix(prefix), name.count > prefix.count else { return name }
        return String(name.dropFirst(prefix.count))
    }

    /// The graph outputs' names before uniquing, in `Model.outputNames` order: `output` for a model of one output,
    /// each output layer's name for several (a recording holds the first as `output`, each as `<layer>/output`).
    public static func graphOutputNames(_ model: Model) -> [String] {
        let names = model.outputNames
        return names.count == 1 ? ["output"] : names
    }

    /// Each input's shape as far as the model fixes it: `[N, in]` when every layer reading it is a `Dense` (whose
    /// kernel gives `in`), else the lowest rank from 2 to 5 the graph accepts, every dimension unknown. A model fed
    /// an image of known size needs its shape given (`ONNXExportOptions.inputShapes`) for explicit SAME pads and a
    /// fully typed input.
    public static func inferredInputShapes(_ model: Model) -> [String: ValueShape] {
        var shapes = model.unknownInputs
        for name in model.inputNames {
            let readers = model.layers.filter { $0.inputs.contains(name) }
            let widths = Set(
                readers.compactMap { $0.op is Dense ? model.parameter($0.name, "kernel")?.shape.first : nil })
            if !readers.isEmpty, widths.count == 1, readers.allSatisfy({ $0.op is Dense }), let width = widths.first {
                shapes[name] = ValueShape([nil, width])
            }
        }
        for name in model.inputNames where shapes[name] == .unknown {
            for rank in 2...5 {
                var trial = shapes
                trial[name] = ValueShape([Int?](repeating: nil, count: rank))
                if (try? LayerGraph.check(model.layers, inputs: trial) { model.parameters[$0]?.shape }) != nil {
                    shapes[name] = trial[name]
                    break
                }
            }
        }
        return shapes
    }

    /// `given` as checked input shapes: each a model input, positive sizes; the batch becomes unknown.
    static func checkedInputShapes(_ given: [String: [Int]], model: Model) throws(ONNXExportError)
        -> [String: ValueShape]
    {
        var shapes = model.unknownInputs
        for (name, dims) in given {
            guard model.inputNames.contains(name) else {
                throw .inputShape(
                    input: name,
                    reason: "is not an input of the model (inputs: \(model.inputNames.joined(separator: ", ")))")
            }
            guard !dims.isEmpty, dims.allSatisfy({ $0 > 0 }) else {
                throw .inputShape(input: name, reason: "shape \(Shape.describe(dims)) is not a shape")
            }
            shapes[name] = ValueShape([nil] + dims.dropFirst().map { $0 })
        }
        return shapes
    }

    /// A graph input's or output's dimensions: known sizes, an unknown first axis as the batch `N`, `.unknown`
    /// elsewhere (a value reduced over the batch or transposed has a known first axis, or an unknown one elsewhere);
    /// permuted to `[N, C, H, W]` when `channelsFirst`.
    static func dimensions(_ shape: ValueShape, channelsFirst: Bool) -> [ONNXDimension] {
        var dims: [ONNXDimension] = shape.dims.enumerated().map { index, size in
            size.map { .value($0) } ?? (index == 0 && shape.rankKnown ? .param("N") : .unknown)
        }
        if channelsFirst, dims.count == 4 { dims = [dims[0], dims[3], dims[1], dims[2]] }
        return dims
    }

    /// The model's provenance as `metadata_props`: `source`, `source_sha256`, `source_kind`, `converted_by`.
    static func provenance(_ model: Model) -> [ONNXStringEntry] {
        guard let p = model.provenance else { return [] }
        var entries = [
            ONNXStringEntry(key: "source", value: p.source), ONNXStringEntry(key: "source_sha256", value: p.sha256),
            ONNXStringEntry(key: "source_kind", value: p.sourceKind),
        ]
        if let spec = p.spec { entries.append(ONNXStringEntry(key: "spec", value: spec)) }
        entries.append(ONNXStringEntry(key: "converted_by", value: "tfparity \(p.toolVersion)"))
        if let folding = model.folding {
            entries.append(
                ONNXStringEntry(
                    key: "folded", value: folding.folded.map { "\($0.bn) into \($0.into)" }.joined(separator: ", ")))
        }
        return entries
    }
}
