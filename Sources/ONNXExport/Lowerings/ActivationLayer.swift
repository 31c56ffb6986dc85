import ParityModel

/// An `Activation` layer: its activation's formula (`LoweringContext.apply(_:to:rank:channelsFirst:)`), in whatever
/// layout its input has.
struct ActivationLayerLowering: ONNXLowering {
    static func lower(_ op: ActivationLayer, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        let x = context.input(0)
        let y = try context.apply(op.activation, to: x.name, rank: context.inputRank(0), channelsFirst: x.channelsFirst)
        return LoweredValue(name: y, channelsFirst: x.channelsFirst)
    }
}
