import ParityModel

/// `SeparableConv1D`: the depthwise 1-D convolution (no bias), then a 1-wide `Conv` with the pointwise kernel
/// `[1, C·M, out]` as `[out, C·M, 1]` and the bias, then the activation.
struct SeparableConv1DLowering: ONNXLowering {
    static func lower(_ op: SeparableConv1D, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        try op.loweredSeparable(in: &context)
    }
}
