import ParityModel

/// `Add`: ONNX `Add`, input by input from the left as the engine sums (`Elementwise.fold`).
struct AddLowering: ONNXLowering {
    static func lower(_ op: Add, in context: inout LoweringContext) -> LoweredValue {
        Elementwise.fold("Add", in: &context)
    }
}

/// Binary elementwise operators over every input of a layer.
enum Elementwise {
    /// `((x0 ∘ x1) ∘ x2) ∘ …` with ONNX's NumPy broadcasting. When every input is an image the layer runs in the
    /// layout most of its inputs have (channels-first on a tie), converting the others; otherwise every input is
    /// taken NHWC, where broadcasting aligns the axes as TensorFlow does.
    static func fold(_ opType: String, in context: inout LoweringContext) -> LoweredValue {
        let count = context.layer.inputs.count
        let inputs = (0..<count).map { context.input($0) }
        let images = (0..<count).allSatisfy { context.inputRank($0) == 4 }
        let firstCount = inputs.filter(\.channelsFirst).count
        let channelsFirst = images && 2 * firstCount >= count && firstCount > 0
        var y = channelsFirst ? context.channelsFirst(inputs[0]) : context.channelsLast(inputs[0])
        for value in inputs.dropFirst() {
            let x = channelsFirst ? context.channelsFirst(value) : context.channelsLast(value)
            y = context.node(opType, [y, x])
        }
        return LoweredValue(name: y, channelsFirst: channelsFirst)
    }
}
