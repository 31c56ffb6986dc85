import ParityModel

/// `CustomScale`: `x0 + x1 · scale` (the scale rounded to float32 first, as the engine multiplies), both inputs in
/// one layout (`BinaryFold.operands(in:)`).
struct CustomScaleLowering: ONNXLowering {
    static func lower(_ op: CustomScale, in context: inout LoweringContext) -> LoweredValue {
        let (operands, channelsFirst) = BinaryFold.operands(in: &context)
        let scaled = context.node("Mul", [operands[1], context.scalar("scale", Float(op.scale))])
        return LoweredValue(name: context.node("Add", [operands[0], scaled]), channelsFirst: channelsFirst)
    }
}
