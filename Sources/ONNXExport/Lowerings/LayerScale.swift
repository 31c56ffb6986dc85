import ParityModel

/// `LayerScale` (ConvNeXt): `x·gamma` over the last (channel) axis, taken channels-last.
struct LayerScaleLowering: ONNXLowering {
    static func lower(_ op: LayerScale, in context: inout LoweringContext) -> LoweredValue {
        let x = context.inputNHWC(0)
        let gamma = context.weight(parameter: "gamma")
        return LoweredValue(name: context.node("Mul", [x, gamma]), channelsFirst: false)
    }
}
