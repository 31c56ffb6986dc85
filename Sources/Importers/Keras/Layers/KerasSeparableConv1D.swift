import ParityModel

/// `SeparableConv1D`: a depthwise `[k, in, depth_multiplier]` then a pointwise `[1, in · depth_multiplier, filters]`
/// kernel, one bias.
enum KerasSeparableConv1D: KerasLayerMapping {
    static let classNames = ["SeparableConv1D", "SeparableConvolution1D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let op = SeparableConv1D(
            try layer.convolution1D(), depthMultiplier: layer.integer("depth_multiplier") ?? 1,
            activation: try layer.activation())
        return KerasMapped(op, variables: ["depthwise_kernel", "pointwise_kernel"] + layer.bias)
    }
}
