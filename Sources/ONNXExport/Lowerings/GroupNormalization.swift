import ParityModel

/// `GroupNormalization` over the channels (the last NHWC axis), in the engine's order: the NHWC value reshaped to
/// `[N, positions, groups, C / groups]`, the mean and biased variance over axes 1 and 3 (kept),
/// `r = 1 / Sqrt(variance + epsilon)`, `inv = r · gamma`, `y = x · inv + (beta − mean · inv)`, reshaped back to the
/// input's shape. (ONNX's GroupNormalization is channels-first, its scale per group before opset 21 and per
/// channel after, and fixes its own order.)
struct GroupNormalizationLowering: ONNXLowering {
    static func lower(_ op: GroupNormalization, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        guard let channels = context.inputShape(0).dims.last ?? nil else {
            throw context.unsupported("it needs the number of channels to split them in groups")
        }
        let width = channels / op.groups
        let x = context.inputNHWC(0)
        let grouped = context.node("Reshape", [x, context.int64s("grouped_shape", [0, -1, op.groups, width])])
        let mean = ReduceMeanLowering.mean(grouped, heldAxes: [1, 3], keepdims: true, in: &context)
        let centred = context.node("Sub", [grouped, mean])
        let variance = ReduceMeanLowering.mean(
            context.node("Mul", [centred, centred]), heldAxes: [1, 3], keepdims: true, in: &context)
        let root = context.node(
            "Sqrt", [context.node("Add", [variance, context.scalar("epsilon", Float(op.epsilon))])])
        let r = context.node("Div", [context.scalar("one", 1), root])
        let perChannel = [1, 1, op.groups, width]
        let inv =
            context.parameter("gamma").map { _ in
                context.node("Mul", [r, context.weight(parameter: "gamma", shape: perChannel)])
            } ?? r
        let shift = context.node("Mul", [mean, inv])
        let offset =
            context.parameter("beta") == nil
            ? context.node("Neg", [shift])
            : context.node("Sub", [context.weight(parameter: "beta", shape: perChannel), shift])
        let y = context.node("Add", [context.node("Mul", [grouped, inv]), offset])
        let back = context.node("Reshape", [y, context.node("Shape", [x])])
        return LoweredValue(name: back, channelsFirst: false)
    }
}
