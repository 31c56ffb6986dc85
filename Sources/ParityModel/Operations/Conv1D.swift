/// `y = activation(conv1d(x, kernel) + bias)` over `[N, L, C]` input; `kernel` is `[k, in / groups, out]`, `bias`
/// optional, `padding` valid, same or causal; grouped as `Conv2D` is.
public struct Conv1D: Convolution1DOperation, GroupedConvolutionOperation {
    public static let typeName = "conv1d"
    public static let kernels: Set<String> = ["kernel"]
    public var attributes: GroupedConvolutionAttributes<Convolution1D>

    public init(attributes: GroupedConvolutionAttributes<Convolution1D>) { self.attributes = attributes }

    public var planar: Conv2D { Conv2D(geometry.planar, activation: activation, groups: groups) }

    struct Prepared: PreparedOperation {
        let geometry: Convolution1D
        let planar: any PreparedOperation

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            geometry.apply(planar, inputs[0], outputShape: outputShape)
        }

        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            geometry.roundingBound(planar, inputs[0], inputBound: inputBounds?[0], output: output, roundoff: u)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try geometry.encode(to: encoder)
        var container = encoder.container(keyedBy: GroupedConvolutionCodingKeys.self)
        try container.encode(activation, forKey: .activation)
        try container.encode(groups, forKey: .groups)
    }
}

extension Conv1D: BatchNormFoldable {
    public var foldedKernel: String { "kernel" }
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.last ?? 0 }
}
