/// Per-channel convolution over `[N, L, C]` input; `depthwise_kernel` is `[k, in, multiplier]`, output channel
/// `c * multiplier + m` (as `DepthwiseConv2D`), `bias` optional, `padding` valid, same or causal.
public struct DepthwiseConv1D: Convolution1DOperation, DepthwiseConvolutionOperation {
    public static let typeName = "depthwise_conv1d"
    public static let kernels: Set<String> = ["depthwise_kernel"]
    public typealias Planar = DepthwiseConv2D
    public var attributes: DepthwiseAttributes<Convolution1D>

    public init(attributes: DepthwiseAttributes<Convolution1D>) { self.attributes = attributes }
}

extension DepthwiseConv1D: BatchNormFoldable {
    public var foldedKernel: String { "depthwise_kernel" }
    /// Output channel `c · multiplier + m`: the last two axes together.
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.count == 3 ? shape[1] * shape[2] : 0 }
}
