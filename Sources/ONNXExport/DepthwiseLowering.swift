import ParityModel

/// A depthwise convolution's window as the lowerings place it: 2-D on the NCHW value (`DepthwiseConv2DLowering`),
/// 1-D on `[N, C, L]` (`Convolution1DLowering`). One conformance each lets the depthwise and separable lowerings of
/// both ranks be one rule.
protocol DepthwiseLoweringGeometry: Codable, Sendable, Equatable {
    /// The grouped convolution of the current layer's input with its parameter `kernel` (and `bias` when present).
    func depthwise(kernel name: String, bias: String?, in context: inout LoweringContext) -> String
    /// The convolution's output `y` with `activation` applied, in the layout the layer's output is held.
    func finish(_ y: String, activation: Activation, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
}

extension Convolution2D: DepthwiseLoweringGeometry {
    func depthwise(kernel name: String, bias: String?, in context: inout LoweringContext) -> String {
        DepthwiseConv2DLowering.depthwise(self, kernel: name, bias: bias, in: &context)
    }

    /// The NCHW value stays channels-first.
    func finish(_ y: String, activation: Activation, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        LoweredValue(name: try context.apply(activation, to: y, rank: 4, channelsFirst: true), channelsFirst: true)
    }
}

extension Convolution1D: DepthwiseLoweringGeometry {
    func depthwise(kernel name: String, bias: String?, in context: inout LoweringContext) -> String {
        Convolution1DLowering.depthwise(self, kernel: name, bias: bias, in: &context)
    }

    func finish(_ y: String, activation: Activation, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        try Convolution1DLowering.finish(y, activation: activation, in: &context)
    }
}

extension DepthwiseConvolutionOperation where Geometry: DepthwiseLoweringGeometry {
    /// `DepthwiseConv1D`, `DepthwiseConv2D`: the grouped convolution with the bias, then the activation.
    func loweredDepthwise(in context: inout LoweringContext) throws(ONNXExportError) -> LoweredValue {
        let y = geometry.depthwise(kernel: "depthwise_kernel", bias: "bias", in: &context)
        return try geometry.finish(y, activation: activation, in: &context)
    }

    /// `SeparableConv1D`, `SeparableConv2D`: the grouped convolution without bias, the pointwise one with it
    /// (`SeparableConv2DLowering.pointwiseConv`), then the activation.
    func loweredSeparable(in context: inout LoweringContext) throws(ONNXExportError) -> LoweredValue {
        let middle = geometry.depthwise(kernel: "depthwise_kernel", bias: nil, in: &context)
        let y = SeparableConv2DLowering.pointwiseConv(middle, in: &context)
        return try geometry.finish(y, activation: activation, in: &context)
    }
}
