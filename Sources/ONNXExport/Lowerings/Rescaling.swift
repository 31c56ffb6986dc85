import ParityModel

/// `Rescaling`: `Mul` by the scale, then `Add` of the offset when it is not zero (`x · scale + offset`, the engine's
/// order), in whatever layout the input has.
struct RescalingLowering: ONNXLowering {
    static func lower(_ op: Rescaling, in context: inout LoweringContext) -> LoweredValue {
        let x = context.input(0)
        var y = context.node("Mul", [x.name, context.scalar("scale", op.scale)])
        if op.offset != 0 { y = context.node("Add", [y, context.scalar("offset", op.offset)]) }
        return LoweredValue(name: y, channelsFirst: x.channelsFirst)
    }
}
