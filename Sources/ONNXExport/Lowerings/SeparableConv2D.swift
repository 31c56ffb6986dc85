import ParityModel

/// `SeparableConv2D`: the depthwise convolution (as `DepthwiseConv2DLowering`, no bias) then a 1×1 `Conv` with the
/// pointwise kernel `[1, 1, C·M, out]` as `[out, C·M, 1, 1]` and the bias, then the activation.
struct SeparableConv2DLowering: ONNXLowering {
    static func lower(_ op: SeparableConv2D, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        let middle = DepthwiseConv2DLowering.depthwise(
            op.geometry, kernel: "depthwise_kernel", bias: nil, in: &context)
        let pointwise = context.requiredParameter("pointwise_kernel")
        let (shape, values) = KernelLayout.oihw(pointwise.floatValues(), hwio: pointwise.shape)
        var inputs = [middle, context.weight("pointwise_kernel", shape: shape, values)]
        if context.parameter("bias") != nil { inputs.append(context.weight(parameter: "bias", shape: [shape[0]])) }
        let y = context.node(
            "Conv", inputs,
            [.ints("kernel_shape", [1, 1]), .ints("strides", [1, 1]), .ints("pads", [0, 0, 0, 0]), .int("group", 1)])
        return LoweredValue(
            name: try context.apply(op.activation, to: y, rank: 4, channelsFirst: true), channelsFirst: true)
    }
}
