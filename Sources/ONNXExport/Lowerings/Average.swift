import ParityModel

/// `Average`: the inputs summed from the left (`BinaryFold`), then `Div` by their number, as the engine averages.
struct AverageLowering: ONNXLowering {
    static func lower(_ op: Average, in context: inout LoweringContext) -> LoweredValue {
        let sum = BinaryFold.fold("Add", in: &context)
        let count = context.scalar("count", Float(context.layer.inputs.count))
        return LoweredValue(name: context.node("Div", [sum.name, count]), channelsFirst: sum.channelsFirst)
    }
}
