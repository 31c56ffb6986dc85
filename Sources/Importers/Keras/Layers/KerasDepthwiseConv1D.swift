import ParityModel

/// `DepthwiseConv1D`: `depthwise_kernel [k, in, depth_multiplier]` (Keras 3 names the variable `kernel`).
enum KerasDepthwiseConv1D: KerasLayerMapping {
    static let classNames = ["DepthwiseConv1D"]

    static func map(_ layer: KerasLayer) throws -> KerasMapped {
        try layer.depthwiseConvolution(DepthwiseConv1D.self, kernels: ["depthwise_kernel"])
    }
}
