import ParityModel

/// `SeparableConv2D`: a depthwise then a pointwise kernel, one bias.
enum KerasSeparableConv2D: KerasLayerMapping {
    static let classNames = ["SeparableConv2D", "SeparableConvolution2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let op = SeparableConv2D(
            try layer.convolution(), depthMultiplier: layer.integer("depth_multiplier") ?? 1,
            activation: try layer.activation())
        return KerasMapped(op, variables: ["depthwise_kernel", "pointwise_kernel"] + layer.bias)
    }
}
