import ParityModel

/// `SeparableConv2D`: the depthwise convolution (as `DepthwiseConv2DLowering`, no bias) then a 1×1 `Conv` with the
/// pointwise kernel `[1, 1, C·M, out]` as `[out, C·M, 1, 1]` and the bias, then the activation.
struct SeparableConv2DLowering: ONNXLowering {
    static func lower(_ op: SeparableConv2D, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        try op.loweredSeparable(in: &context)
    }

    /// The pointwise stage of a separable convolution: a `Conv` of size 1 along each spatial axis of `x` with the
    /// `pointwise_kernel` (`[1, …, in, out]`, as ONNX's `[out, in, 1, …]`) and the bias when the layer has one.
    static func pointwiseConv(_ x: String, in context: inout LoweringContext) -> String {
        let pointwise = context.requiredParameter("pointwise_kernel")
        let spatialAxes = pointwise.shape.count - 2
        let (shape, values) = KernelLayout.permuted(
            pointwise.floatValues(), shape: pointwise.shape, [spatialAxes + 1, spatialAxes] + Array(0..<spatialAxes))
        var inputs = [x, context.weight("pointwise_kernel", shape: shape, values)]
        if context.parameter("bias") != nil { inputs.append(context.weight(parameter: "bias", shape: [shape[0]])) }
        let ones = [Int](repeating: 1, count: spatialAxes)
        return context.node(
            "Conv", inputs,
            [
                .ints("kernel_shape", ones), .ints("strides", ones),
                .ints("pads", [Int](repeating: 0, count: 2 * spatialAxes)), .int("group", 1),
            ])
    }
}
