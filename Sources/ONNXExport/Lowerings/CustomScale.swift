import ParityModel

/// `CustomScaleLayer` (InceptionResNetV2): `x + y·scale`, in that order of roundings.
struct CustomScaleLowering: ONNXLowering {
    static func lower(_ op: CustomScale, in context: inout LoweringContext) -> LoweredValue {
        let (operands, channelsFirst) = BinaryFold.operands(in: &context)
        let scaled = context.node("Mul", [operands[1], context.scalar("scale", Float(op.scale))])
        return LoweredValue(name: context.node("Add", [operands[0], scaled]), channelsFirst: channelsFirst)
    }
}
