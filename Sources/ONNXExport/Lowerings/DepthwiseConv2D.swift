import ParityModel

/// `DepthwiseConv2D`: a grouped ONNX `Conv` (`group = C`) on the NCHW value, the kernel `[kh, kw, C, M]` rearranged
/// to `[C·M, 1, kh, kw]` (`KernelLayout.grouped`), then the activation.
struct DepthwiseConv2DLowering: ONNXLowering {
    static func lower(_ op: DepthwiseConv2D, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        try op.loweredDepthwise(in: &context)
    }

    /// The grouped convolution of the current layer's input with its parameter `kernel` (and `bias` when present).
    static func depthwise(
        _ g: Convolution2D, kernel name: String, bias: String?, in context: inout LoweringContext
    ) -> String {
        let attributes = WindowAttributes.make(
            kernel: g.kernelSize, strides: g.strides, dilation: g.dilation, padding: g.padding,
            input: context.inputShape(0))
        let x = context.inputNCHW(0)
        let kernel = context.requiredParameter(name)
        let (shape, values) = KernelLayout.grouped(kernel.floatValues(), depthwise: kernel.shape)
        var inputs = [x, context.weight(name, shape: shape, values)]
        if let bias, context.parameter(bias) != nil {
            inputs.append(context.weight(parameter: bias, shape: [shape[0]]))
        }
        return context.node("Conv", inputs, attributes + [.int("group", kernel.shape[2])])
    }
}
