import ParityModel

/// `Add`: ONNX `Add`, input by input from the left as the engine sums (`BinaryFold.fold`).
struct AddLowering: ONNXLowering {
    static func lower(_ op: Add, in context: inout LoweringContext) -> LoweredValue {
        BinaryFold.fold("Add", in: &context)
    }
}

/// Binary elementwise operators over every input of a layer (named apart from ParityModel's `Elementwise`
/// operation, which `ElementwiseLowering` lowers).
enum BinaryFold {
    /// `((x0 ∘ x1) ∘ x2) ∘ …` with ONNX's NumPy broadcasting, the inputs in one layout (`operands(in:)`).
    static func fold(_ opType: String, in context: inout LoweringContext) -> LoweredValue {
        let (operands, channelsFirst) = operands(in: &context)
        var y = operands[0]
        for x in operands.dropFirst() { y = context.node(opType, [y, x]) }
        return LoweredValue(name: y, channelsFirst: channelsFirst)
    }

    /// Every input of the current layer in one layout. When every input is an image, the layout most of them have
    /// (channels-first on a tie), converting the others: both sides permuted alike broadcast as before. Otherwise
    /// every input is taken NHWC, where broadcasting aligns trailing axes as TensorFlow does.
    static func operands(in context: inout LoweringContext) -> (names: [String], channelsFirst: Bool) {
        let count = context.layer.inputs.count
        let inputs = (0..<count).map { context.input($0) }
        let images = (0..<count).allSatisfy { context.inputRank($0) == 4 }
        let firstCount = inputs.filter(\.channelsFirst).count
        let channelsFirst = images && 2 * firstCount >= count && firstCount > 0
        let names = inputs.map { channelsFirst ? context.channelsFirst($0) : context.channelsLast($0) }
        return (names, channelsFirst)
    }
}
