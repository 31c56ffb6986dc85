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
        let y = Self.pointwiseConv(middle, kernel: shape, values, spatialAxes: 2, in: &context)
        return LoweredValue(
            name: try context.apply(op.activation, to: y, rank: 4, channelsFirst: true), channelsFirst: true)
    }

    /// The pointwise stage of a separable convolution: a `Conv` of size 1 along each of `spatialAxes` axes of `x`
    /// with the `pointwise_kernel` already in ONNX's `[out, in, 1, …]` layout (`shape`, `values`), and the bias when
    /// the layer has one.
    static func pointwiseConv(
        _ x: String, kernel shape: [Int], _ values: [Float], spatialAxes: Int, in context: inout LoweringContext
    ) -> String {
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
