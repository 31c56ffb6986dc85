import ParityModel

/// `SeparableConv2D`: a depthwise then a pointwise kernel, one bias.
enum KerasSeparableConv2D: KerasLayerMapping {
    static let classNames = ["SeparableConv2D", "SeparableConvolution2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.depthwiseConvolution(SeparableConv2D.self, kernels: ["depthwise_kernel", "pointwise_kernel"])
    }
}
