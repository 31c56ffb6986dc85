import ParityModel

/// `DepthwiseConv1D`: `depthwise_kernel [k, in, depth_multiplier]` (Keras 3 names the variable `kernel`).
enum KerasDepthwiseConv1D: KerasLayerMapping {
    static let classNames = ["DepthwiseConv1D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        let op = DepthwiseConv1D(
            try layer.convolution1D(), depthMultiplier: layer.integer("depth_multiplier") ?? 1,
            activation: try layer.activation())
        return KerasMapped(op, variables: ["depthwise_kernel"] + layer.bias)
    }
}
