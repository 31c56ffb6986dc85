import ONNXFormat
import ParityModel
import TensorCore

/// A value of the ONNX graph standing for a layer's output (or a model input).
public struct LoweredValue: Sendable, Equatable {
    /// The ONNX value's name.
    public var name: String
    /// True when the value is a 4-D image held channels-first (`[N, C, H, W]`); tfparity's shapes stay NHWC.
    public var channelsFirst: Bool
}

/// What a lowering works with: the graph being built, the opset, and the current layer's inputs, shapes and
/// parameters.
///
/// The graph runs NCHW around the operators whose ONNX form is channels-first (Conv, the pools, BatchNormalization
/// over channels, Pad, Slice): `inputNCHW(_:)` inserts `Transpose(0, 3, 1, 2)` when a value is NHWC and
/// `inputNHWC(_:)` inserts `Transpose(0, 2, 3, 1)` when it is NCHW, once per value. Elementwise operators take their
/// input as it comes, so a chain of convolutions, batch norms and activations has no transposes inside.
public struct LoweringContext {
    public private(set) var graph: ONNXGraphBuilder
    public let opset: Int
    /// The current layer.
    public private(set) var layer: Layer
    let model: Model
    /// Every layer's (and input's) NHWC output shape.
    let shapes: [String: ValueShape]
    /// Every lowered layer's (and input's) value, by layer name.
    var values: [String: LoweredValue] = [:]
    /// `<value>` → its transposed copy, each made once.
    private var transposed: [String: String] = [:]

    init(graph: ONNXGraphBuilder, opset: Int, model: Model, shapes: [String: ValueShape]) {
        self.graph = graph
        self.opset = opset
        self.model = model
        self.shapes = shapes
        layer = Layer(name: "", op: Dropout(), inputs: [])
    }

    mutating func begin(_ layer: Layer) { self.layer = layer }

    mutating func finishGraph() -> ONNXGraphBuilder { graph }

    // MARK: Inputs and shapes

    /// The current layer's `index`-th input, in whatever layout it has.
    public func input(_ index: Int) -> LoweredValue {
        guard let value = values[layer.inputs[index]] else {
            preconditionFailure("layer '\(layer.name)' reads '\(layer.inputs[index])' before it is lowered")
        }
        return value
    }

    /// The NHWC shape of the current layer's `index`-th input (checked by `LayerGraph.check`).
    public func inputShape(_ index: Int) -> ValueShape { shape(of: layer.inputs[index]) }

    /// The NHWC shape of the current layer's output.
    public var outputShape: ValueShape { shape(of: layer.name) }

    func shape(of name: String) -> ValueShape {
        guard let shape = shapes[name] else { preconditionFailure("no checked shape for '\(name)'") }
        return shape
    }

    /// The current layer's input's rank; the exporter always fixes the model input's rank, so every value has one.
    public func inputRank(_ index: Int) -> Int {
        guard let rank = inputShape(index).rank else { preconditionFailure("rank of '\(layer.inputs[index])' unknown") }
        return rank
    }

    /// The current layer's `index`-th input as `[N, C, H, W]`; it must be 4-D.
    public mutating func inputNCHW(_ index: Int) -> String {
        precondition(inputRank(index) == 4, "layer '\(layer.name)' asks for a channels-first copy of a non-image")
        return channelsFirst(input(index))
    }

    /// The current layer's `index`-th input in tfparity's own layout (NHWC for an image).
    public mutating func inputNHWC(_ index: Int) -> String { channelsLast(input(index)) }

    /// `value` channels-first (`Transpose(0, 3, 1, 2)` unless it already is).
    mutating func channelsFirst(_ value: LoweredValue) -> String {
        value.channelsFirst ? value.name : transpose(value.name, [0, 3, 1, 2], suffix: "nchw")
    }

    /// `value` in tfparity's layout (`Transpose(0, 2, 3, 1)` when it is channels-first).
    mutating func channelsLast(_ value: LoweredValue) -> String {
        value.channelsFirst ? transpose(value.name, [0, 2, 3, 1], suffix: "nhwc") : value.name
    }

    private mutating func transpose(_ name: String, _ perm: [Int], suffix: String) -> String {
        let key = "\(name)\u{0}\(suffix)"
        if let existing = transposed[key] { return existing }
        let output = graph.addNode(
            "Transpose", inputs: [name], name: "\(name)/\(suffix)", attributes: [.ints("perm", perm)])
        transposed[key] = output
        // Transposing back gives the original value: no second Transpose for a round trip.
        transposed["\(output)\u{0}\(suffix == "nchw" ? "nhwc" : "nchw")"] = name
        return output
    }

    /// An NHWC axis of a rank-`rank` value (negative counts from the end) as the axis of the value as held: under
    /// channels-first, NHWC axes 0, 1, 2, 3 are NCHW axes 0, 2, 3, 1.
    public func heldAxis(_ axis: Int, rank: Int, channelsFirst: Bool) -> Int {
        let normalised = axis < 0 ? axis + rank : axis
        guard channelsFirst else { return normalised }
        return [0, 2, 3, 1][normalised]
    }

    /// Whether a channels-first image with its NHWC `axes` removed holds the remaining axes in NHWC order (the
    /// channels are among those removed, or both height and width), so a reduction or an index dropping them runs on
    /// the NCHW value and its result is already in tfparity's layout.
    public static func channelsFirstKeepsOrder(removing axes: Set<Int>) -> Bool {
        let kept = [0, 3, 1, 2].filter { !axes.contains($0) }
        return kept == kept.sorted()
    }

    // MARK: Parameters and constants

    /// The current layer's parameter `name` (`kernel`, `moving_mean`, …), when present.
    public func parameter(_ name: String) -> Tensor? { model.parameter(layer.name, name) }

    /// A parameter `LayerGraph.check` required: present.
    public func requiredParameter(_ name: String) -> Tensor {
        guard let tensor = parameter(name) else { preconditionFailure("checked parameter '\(name)' vanished") }
        return tensor
    }

    /// Adds a float32 initializer `<layer>/<name>`; returns its value name.
    public mutating func weight(_ name: String, shape: [Int], _ values: [Float]) -> String {
        graph.addInitializer("\(layer.name)/\(name)", shape: shape, floats: values)
    }

    /// Adds parameter `name` as a float32 initializer of its own shape (or `shape`, same element count).
    public mutating func weight(parameter name: String, shape: [Int]? = nil) -> String {
        let tensor = requiredParameter(name)
        return weight(name, shape: shape ?? tensor.shape, tensor.floatValues())
    }

    /// Adds a float32 scalar constant `<layer>/<name>`.
    public mutating func scalar(_ name: String, _ value: Float) -> String { weight(name, shape: [], [value]) }

    /// Adds an int64 constant `<layer>/<name>` (shapes, pads, slice bounds).
    public mutating func int64s(_ name: String, _ values: [Int]) -> String {
        graph.addInitializer("\(layer.name)/\(name)", shape: [values.count], int64s: values.map(Int64.init))
    }

    /// Adds an int64 scalar (a 0-D tensor, as CumSum's axis) `<layer>/<name>`.
    public mutating func int64Scalar(_ name: String, _ value: Int) -> String {
        graph.addInitializer("\(layer.name)/\(name)", shape: [], int64s: [Int64(value)])
    }

    /// Adds `values` (C order over `sizes`) as a float32 constant that broadcasts along the NHWC `axes` (sorted, one
    /// per size) of a rank-`rank` value held as `channelsFirst` says: `[1, …, size, …, 1]`, permuted to `[N, C, H, W]`
    /// order for a channels-first image. What the normalisations and scales multiply or add per position.
    public mutating func axisConstant(
        _ name: String, _ values: [Float], axes: [Int], sizes: [Int], rank: Int, channelsFirst: Bool
    ) -> String {
        var expanded = [Int](repeating: 1, count: rank)
        for (axis, size) in zip(axes, sizes) { expanded[axis] = size }
        guard channelsFirst, rank == 4 else { return weight(name, shape: expanded, values) }
        let (shape, permuted) = KernelLayout.permuted(values, shape: expanded, [0, 3, 1, 2])
        return weight(name, shape: shape, permuted)
    }

    // MARK: Nodes

    /// Adds a node named `<layer>/<opType>` (made unique) with one output of the same name.
    /// `value` rounded to `type` and widened back to float32 (two Casts).
    public mutating func rounded(_ value: String, to type: ONNXDataType) -> String {
        let narrow = node("Cast", [value], [.int("to", Int(type.rawValue))])
        return node("Cast", [narrow], [.int("to", Int(ONNXDataType.float.rawValue))])
    }

    public mutating func node(_ opType: String, _ inputs: [String], _ attributes: [ONNXAttribute] = []) -> String {
        graph.addNode(opType, inputs: inputs, name: "\(layer.name)/\(opType)", attributes: attributes)
    }

    /// Adds a node of `count` outputs named `<layer>/<opType>` (`_1`, `_2`, … after the first); returns them.
    public mutating func nodeOutputs(
        _ opType: String, _ inputs: [String], count: Int, _ attributes: [ONNXAttribute] = []
    ) -> [String] {
        let base = "\(layer.name)/\(opType)"
        let outputs = (0..<count).map { graph.uniqueName($0 == 0 ? base : "\(base)_\($0)") }
        return graph.addNode(opType, inputs: inputs, outputs: outputs, name: base, attributes: attributes)
    }

    /// Throws unless the opset is at least `needs`.
    public func require(opset needs: Int, _ reason: @autoclosure () -> String) throws(ONNXExportError) {
        guard opset >= needs else {
            throw .opsetTooLow(layer: layer.name, type: layer.op.typeName, needs: needs, opset: opset, reason: reason())
        }
    }

    /// An error about the current layer.
    public func unsupported(_ reason: String) -> ONNXExportError {
        .unsupportedAttributes(layer: layer.name, type: layer.op.typeName, reason: reason)
    }
}
