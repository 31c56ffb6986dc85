import ParityModel

/// `DepthwiseConv1D`: a grouped 1-D `Conv` (`group = C`, `Convolution1DLowering.depthwise`), then the activation.
struct DepthwiseConv1DLowering: ONNXLowering {
    static func lower(_ op: DepthwiseConv1D, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        try op.loweredDepthwise(in: &context)
    }
}
