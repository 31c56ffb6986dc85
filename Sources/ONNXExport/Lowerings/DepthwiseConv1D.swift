import ParityModel

/// `DepthwiseConv1D`: a grouped 1-D `Conv` (`group = C`, `Convolution1DLowering.depthwise`), then the activation.
struct DepthwiseConv1DLowering: ONNXLowering {
    static func lower(_ op: DepthwiseConv1D, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        let y = Convolution1DLowering.depthwise(op.geometry, kernel: "depthwise_kernel", bias: "bias", in: &context)
        return try Convolution1DLowering.finish(y, activation: op.activation, in: &context)
    }
}
