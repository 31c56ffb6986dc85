import ParityModel

/// An `Activation` layer: its activation's formula (`LoweringContext.apply(_:to:rank:channelsFirst:)`), in whatever
/// layout its input has. `glu` halves the channel axis (the last in NHWC, axis 1 of a channels-first image): two
/// `Slice`s, `a · Sigmoid(b)`.
struct ActivationLayerLowering: ONNXLowering {
    static func lower(_ op: ActivationLayer, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        let x = context.input(0)
        let rank = context.inputRank(0)
        guard op.activation == .glu else {
            let y = try context.apply(op.activation, to: x.name, rank: rank, channelsFirst: x.channelsFirst)
            return LoweredValue(name: y, channelsFirst: x.channelsFirst)
        }
        guard let size = context.inputShape(0).dims.last ?? nil else {
            throw context.unsupported("glu needs the size of the axis it halves")
        }
        let axis = context.int64s("axis", [context.heldAxis(-1, rank: rank, channelsFirst: x.channelsFirst)])
        let a = context.node(
            "Slice", [x.name, context.int64s("a_start", [0]), context.int64s("a_end", [size / 2]), axis])
        let b = context.node(
            "Slice", [x.name, context.int64s("b_start", [size / 2]), context.int64s("b_end", [size]), axis])
        return LoweredValue(
            name: context.node("Mul", [a, context.node("Sigmoid", [b])]), channelsFirst: x.channelsFirst)
    }
}
