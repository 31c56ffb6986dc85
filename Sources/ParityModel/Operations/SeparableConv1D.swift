/// A depthwise convolution (`depthwise_kernel [k, in, multiplier]`) then a pointwise one (`pointwise_kernel
/// [1, in * multiplier, out]`), `bias` optional, over `[N, L, C]` input, as `SeparableConv2D` over a unit height axis.
public struct SeparableConv1D: Convolution1DOperation, DepthwiseConvolutionOperation {
    public static let typeName = "separable_conv1d"
    public static let kernels: Set<String> = ["depthwise_kernel", "pointwise_kernel"]
    public typealias Planar = SeparableConv2D
    public var attributes: DepthwiseAttributes<Convolution1D>

    public init(attributes: DepthwiseAttributes<Convolution1D>) { self.attributes = attributes }
}

extension SeparableConv1D: BatchNormFoldable {
    public var foldedKernel: String { "pointwise_kernel" }
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.last ?? 0 }
}
