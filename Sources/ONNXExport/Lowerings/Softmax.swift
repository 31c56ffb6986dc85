import ParityModel

/// `Softmax` over its axis, remapped to the input's layout; needs opset 13, before which ONNX's Softmax flattened its
/// input to 2-D from the axis on.
struct SoftmaxLowering: ONNXLowering {
    static func lower(_ op: Softmax, in context: inout LoweringContext) throws(ONNXExportError) -> LoweredValue {
        try context.require(opset: 13, "before opset 13 Softmax flattens its input to 2-D from the axis on")
        let x = context.input(0)
        let axis = context.heldAxis(op.axis, rank: context.inputRank(0), channelsFirst: x.channelsFirst)
        return LoweredValue(
            name: context.node("Softmax", [x.name], [.int("axis", axis)]), channelsFirst: x.channelsFirst)
    }
}
