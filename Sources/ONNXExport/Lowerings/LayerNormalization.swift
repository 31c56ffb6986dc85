import ParityModel

/// `LayerNormalization`, operator by operator in the engine's order (not ONNX's LayerNormalization, which fixes one
/// order and only trailing axes): `mean = ReduceMean(x)`, `variance = ReduceMean((x − mean)²)` over the axes (kept),
/// `r = 1 / Sqrt(variance + epsilon)`; then `inv = r · gamma`, `y = x · inv + (beta − mean · inv)`
/// (`tf.nn.batch_normalization`'s order), or for `fused` trailing axes `((x − mean) · r) · gamma + beta`. The input is
/// reduced in its own layout, the axes remapped; gamma and beta broadcast along them (`axisConstant`).
struct LayerNormalizationLowering: ONNXLowering {
    static func lower(_ op: LayerNormalization, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        let x = context.input(0)
        let rank = context.inputRank(0)
        let axes = Set(op.axis.map { $0 < 0 ? $0 + rank : $0 }).sorted()
        let held = axes.map { context.heldAxis($0, rank: rank, channelsFirst: x.channelsFirst) }.sorted()
        let mean = ReduceMeanLowering.mean(x.name, heldAxes: held, keepdims: true, in: &context)
        let centred = context.node("Sub", [x.name, mean])
        let variance = ReduceMeanLowering.mean(
            context.node("Mul", [centred, centred]), heldAxes: held, keepdims: true, in: &context)
        let root = context.node(
            "Sqrt", [context.node("Add", [variance, context.scalar("epsilon", Float(op.epsilon))])])
        let r = context.node("Div", [context.scalar("one", 1), root])

        let dims = context.inputShape(0).dims
        var constants: [String: String] = [:]
        for name in ["gamma", "beta"] {
            guard let tensor = context.parameter(name) else { continue }
            // The parameter has the normalised axes' shape, size-1 axes aside.
            let known = axes.compactMap { dims[$0] }
            let sizes = known.count == axes.count ? known : tensor.shape.filter { $0 != 1 }
            guard sizes.count == axes.count else {
                throw context.unsupported("\(name) \(tensor.shape) cannot be placed on axes \(axes) of unknown size")
            }
            constants[name] = context.axisConstant(
                name, tensor.floatValues(), axes: axes, sizes: sizes, rank: rank, channelsFirst: x.channelsFirst)
        }
        var y: String
        if op.fused, axes == Array((rank - axes.count)..<rank) {
            y = context.node("Mul", [centred, r])
            if let gamma = constants["gamma"] { y = context.node("Mul", [y, gamma]) }
            if let beta = constants["beta"] { y = context.node("Add", [y, beta]) }
        } else {
            let inv = constants["gamma"].map { context.node("Mul", [r, $0]) } ?? r
            let shift = context.node("Mul", [mean, inv])
            let offset = constants["beta"].map { context.node("Sub", [$0, shift]) } ?? context.node("Neg", [shift])
            y = context.node("Add", [context.node("Mul", [x.name, inv]), offset])
        }
        return LoweredValue(name: y, channelsFirst: x.channelsFirst)
    }
}
