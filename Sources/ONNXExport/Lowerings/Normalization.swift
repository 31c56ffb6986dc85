import ParityModel

/// Keras' `Normalization`: `(x − mean) / deviation`, or with `invert` `mean + x · deviation`, where
/// `deviation = max(sqrt(variance), 1e-7)` is computed here in float32 as the engine prepares it (1e-7 is Keras'
/// `backend.epsilon()`, `Normalization.epsilon`). The statistics (parameters, or the layer's constants) are
/// right-aligned to the kept axes and broadcast along them in the input's layout (`LoweringContext.axisConstant`).
struct NormalizationLowering: ONNXLowering {
    static func lower(_ op: Normalization, in context: inout LoweringContext) -> LoweredValue {
        let x = context.input(0)
        let rank = context.inputRank(0)
        let mean = op.mean ?? context.requiredParameter("mean").floatValues()
        let variance = op.variance ?? context.requiredParameter("variance").floatValues()
        let shape = op.constantShape ?? context.requiredParameter("mean").shape
        let kept = Set(op.axis.map { $0 < 0 ? $0 + rank : $0 }).sorted()
        let axes = Array(kept.suffix(shape.count))
        let deviation = variance.map { max($0.squareRoot(), Float(1e-7)) }
        let m = context.axisConstant("mean", mean, axes: axes, sizes: shape, rank: rank, channelsFirst: x.channelsFirst)
        let d = context.axisConstant(
            "deviation", deviation, axes: axes, sizes: shape, rank: rank, channelsFirst: x.channelsFirst)
        let y =
            op.invert
            ? context.node("Add", [m, context.node("Mul", [x.name, d])])
            : context.node("Div", [context.node("Sub", [x.name, m]), d])
        return LoweredValue(name: y, channelsFirst: x.channelsFirst)
    }
}
