import ParityModel

/// Keras' `ReLU` layer, by its kernel's formula (`ReLU.apply(_:outputShape:)`), in whatever layout the input has:
///
///     out = threshold != 0 ? (x > threshold ? x : 0) : max(x, 0)
///     out = clip(out, 0, max_value)                  (when max_value is given)
///     out = out − negative_slope · max(threshold − x, 0)   (when negative_slope != 0)
///
/// The common forms are single operators computing the same values: `Relu`; `Clip(0, max_value)`; `LeakyRelu` for a
/// slope alone (`max(x, 0) − s · max(−x, 0)` is `s · x` below zero, exactly).
struct ReLULowering: ONNXLowering {
    static func lower(_ op: ReLU, in context: inout LoweringContext) -> LoweredValue {
        let x = context.input(0)
        let (maxValue, slope, threshold) = (op.maxValue, op.negativeSlope, op.threshold)
        if threshold == 0, maxValue == nil, slope != 0 {
            return LoweredValue(
                name: context.node("LeakyRelu", [x.name], [.float("alpha", slope)]), channelsFirst: x.channelsFirst)
        }
        var y: String
        let thresholdValue = threshold != 0 || slope != 0 ? context.scalar("threshold", threshold) : ""
        if threshold != 0 {
            let zero = context.scalar("zero", 0)
            let above = context.node("Greater", [x.name, thresholdValue])
            y = context.node("Where", [above, x.name, zero])
            if let maxValue { y = context.node("Clip", [y, zero, context.scalar("max_value", maxValue)]) }
        } else if let maxValue {
            y = context.node("Clip", [x.name, context.scalar("zero", 0), context.scalar("max_value", maxValue)])
        } else {
            y = context.node("Relu", [x.name])
        }
        if slope != 0 {
            let below = context.node("Relu", [context.node("Sub", [thresholdValue, x.name])])
            y = context.node("Sub", [y, context.node("Mul", [context.scalar("negative_slope", slope), below])])
        }
        return LoweredValue(name: y, channelsFirst: x.channelsFirst)
    }
}
