import ParityModel

/// `SeparableConv1D`: a depthwise `[k, in, depth_multiplier]` then a pointwise `[1, in · depth_multiplier, filters]`
/// kernel, one bias.
enum KerasSeparableConv1D: KerasLayerMapping {
    static let classNames = ["SeparableConv1D", "SeparableConvolution1D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.depthwiseConvolution(SeparableConv1D.self, kernels: ["depthwise_kernel", "pointwise_kernel"])
    }
}
