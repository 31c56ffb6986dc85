import ParityModel

/// `Conv2D`: ONNX `Conv` on the NCHW value, the kernel permuted HWIO → OIHW (`transpose(3, 2, 0, 1)`), TensorFlow's
/// padding (`WindowAttributes`), then the activation. A grouped convolution is `group = groups`: ONNX splits input
/// and output channels into consecutive runs as TensorFlow does, and `[kh, kw, in / groups, out]` permutes to the
/// `[out, in / groups, kh, kw]` it takes.
struct Conv2DLowering: ONNXLowering {
    static func lower(_ op: Conv2D, in context: inout LoweringContext) throws(ONNXExportError) -> LoweredValue {
        let g = op.geometry
        let attributes = WindowAttributes.make(
            kernel: g.kernelSize, strides: g.strides, dilation: g.dilation, padding: g.padding,
            input: context.inputShape(0))
        let x = context.inputNCHW(0)
        let kernel = context.requiredParameter("kernel")
        let (shape, values) = KernelLayout.oihw(kernel.floatValues(), hwio: kernel.shape)
        var inputs = [x, context.weight("kernel", shape: shape, values)]
        if context.parameter("bias") != nil { inputs.append(context.weight(parameter: "bias", shape: [shape[0]])) }
        let y = context.node("Conv", inputs, attributes + [.int("group", op.groups)])
        return LoweredValue(
            name: try context.apply(op.activation, to: y, rank: 4, channelsFirst: true), channelsFirst: true)
    }
}
