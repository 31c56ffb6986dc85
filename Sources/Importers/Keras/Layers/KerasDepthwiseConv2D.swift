import ParityModel

/// `DepthwiseConv2D`: `depthwise_kernel [kh, kw, in, depth_multiplier]`.
enum KerasDepthwiseConv2D: KerasLayerMapping {
    static let classNames = ["DepthwiseConv2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let op = DepthwiseConv2D(
            try layer.convolution(), depthMultiplier: layer.integer("depth_multiplier") ?? 1,
            activation: try layer.activation())
        return KerasMapped(op, variables: ["depthwise_kernel"] + layer.bias)
    }
}
