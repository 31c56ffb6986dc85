import ParityModel

/// `Concatenate`: ONNX `Concat`; images are joined in the layout most inputs have (as `BinaryFold.fold` picks it),
/// the axis remapped to that layout.
struct ConcatenateLowering: ONNXLowering {
    static func lower(_ op: Concatenate, in context: inout LoweringContext) -> LoweredValue {
        let count = context.layer.inputs.count
        let rank = context.inputRank(0)
        let inputs = (0..<count).map { context.input($0) }
        let firstCount = inputs.filter(\.channelsFirst).count
        let channelsFirst = rank == 4 && 2 * firstCount >= count && firstCount > 0
        let names = inputs.map { channelsFirst ? context.channelsFirst($0) : context.channelsLast($0) }
        let axis = context.heldAxis(op.axis, rank: rank, channelsFirst: channelsFirst)
        return LoweredValue(name: context.node("Concat", names, [.int("axis", axis)]), channelsFirst: channelsFirst)
    }
}
