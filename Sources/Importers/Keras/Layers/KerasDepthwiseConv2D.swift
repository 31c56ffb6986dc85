import ParityModel

/// `DepthwiseConv2D`: `depthwise_kernel [kh, kw, in, depth_multiplier]`.
enum KerasDepthwiseConv2D: KerasLayerMapping {
    static let classNames = ["DepthwiseConv2D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.depthwiseConvolution(DepthwiseConv2D.self, kernels: ["depthwise_kernel"])
    }
}
