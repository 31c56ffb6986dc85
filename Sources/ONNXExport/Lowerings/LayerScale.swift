import ParityModel

/// `LayerScale`: `Mul` by `gamma` along the channels (`LoweringContext.axisConstant`), in whatever layout the input
/// has.
struct LayerScaleLowering: ONNXLowering {
    static func lower(_ op: LayerScale, in context: inout LoweringContext) -> LoweredValue {
        let x = context.input(0)
        let rank = context.inputRank(0)
        let gamma = context.requiredParameter("gamma").floatValues()
        let scale = context.axisConstant(
            "gamma", gamma, axes: [rank - 1], sizes: [gamma.count], rank: rank, channelsFirst: x.channelsFirst)
        return LoweredValue(name: context.node("Mul", [x.name, scale]), channelsFirst: x.channelsFirst)
    }
}
