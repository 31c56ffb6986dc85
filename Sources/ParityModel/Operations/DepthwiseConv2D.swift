/// Per-channel convolution over NHWC input; `depthwise_kernel` is `[kh, kw, in, multiplier]`, output channel
/// `c * multiplier + m` (TensorFlow's `depthwise_conv2d`), `bias` optional.
public struct DepthwiseConv2D: DepthwiseConvolutionOperation {
    public static let typeName = "depthwise_conv2d"
    public var attributes: DepthwiseAttributes<Convolution2D>

    public init(attributes: DepthwiseAttributes<Convolution2D>) { self.attributes = attributes }

    public var parameters: [ParameterSlot] { [.required("depthwise_kernel"), .optional("bias", vector: true)] }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let kernel = try ParameterShape.required("depthwise_kernel", parameter)
        try geometry.checkKernel("depthwise_kernel", kernel, last: depthMultiplier)
        guard let channels = Checked.product([kernel[2], depthMultiplier]) else {
            throw .tooLarge("depthwise_kernel \(kernel) has too many output channels")
        }
        try ParameterShape.vector("bias", length: channels, parameter)
        let image = try ImageDims(inputs[0], channels: kernel[2])
        let (height, width) = try geometry.outputs(image, input: inputs[0])
        let output = [image.batch, height, width, channels]
        try Checked.elementCount(output, "the output")
        return ValueShape(output)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let kernel = parameters.required("depthwise_kernel")
        return Prepared(
            kernel: kernel.floatValues(), kernelShape: kernel.shape, geometry: geometry,
            biasAndActivation: BiasAndActivation(bias: parameters.floats("bias"), activation: activation),
            kernels: matrixProduct.vectorKernels)
    }

    struct Prepared: PreparedOperation {
        let kernel: [Float]
        let kernelShape: [Int]
        let geometry: Convolution2D
        let biasAndActivation: BiasAndActivation
        /// Where the pixels of a multiplier-1 convolution are computed (`VectorKernels`).
        let kernels: VectorKernels

        /// `√2·λ·√n·u·dwconv(|x|, |K|) + dwconv(b, |K|) + u·|bias|`, `n = kh·kw`, then the activation's slope.
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            biasAndActivation.roundingBound(
                linearBound(inputs[0], inputBound: inputBounds?[0], outputShape: output.shape, roundoff: u),
                output: output, roundoff: u)
        }

        /// The bound of the convolution alone (no bias, no activation).
        func linearBound(_ x: FloatTensor, inputBound: [Float]?, outputShape: [Int], roundoff u: Float) -> [Float] {
            Convolution2D.linearBound(
                x, inputBound: inputBound, terms: kernelShape[0] * kernelShape[1], roundoff: u
            ) { v, squared in
                ImageKernels.depthwiseConv2D(
                    v, kernel: kernel.map { squared ? $0 * $0 : abs($0) }, kernelShape: kernelShape,
                    geometry: geometry, outputShape: outputShape)
            }
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            apply(inputs, outputShape: outputShape, workspace: Workspace(), epilogue: .none)
        }
    }
}

extension DepthwiseConv2D.Prepared: EpilogueProducing {
    /// Without a bias or activation of its own, the convolution applies `epilogue` to each output row as it writes
    /// it (while the row is in cache); otherwise the bias and activation, then `epilogue`, in passes after.
    func apply(_ inputs: [FloatTensor], outputShape: [Int], workspace: Workspace, epilogue: Epilogue) -> FloatTensor {
        apply(inputs, padded: nil, outputShape: outputShape, epilogue: epilogue)
    }

    private func apply(_ inputs: [FloatTensor], padded edges: EdgeAmounts?, outputShape: [Int], epilogue: Epilogue)
        -> FloatTensor
    {
        let plain = biasAndActivation.isIdentity
        var y = ImageKernels.depthwiseConv2D(
            inputs[0], kernel: kernel, kernelShape: kernelShape, geometry: geometry, outputShape: outputShape,
            padded: edges, epilogue: plain ? epilogue : .none, kernels: kernels)
        if !plain {
            biasAndActivation.finish(&y.values, channels: y.lastDimension)
            epilogue.apply(to: &y.values, channels: y.lastDimension)
        }
        return y
    }
}

extension DepthwiseConv2D.Prepared: PaddingAbsorbing {
    /// A `VALID` window: the padding is the only padding there is.
    func absorbs(_ edges: EdgeAmounts) -> Bool { geometry.padding == .valid }

    func apply(
        _ inputs: [FloatTensor], padded edges: EdgeAmounts, outputShape: [Int], workspace: Workspace,
        epilogue: Epilogue
    ) -> FloatTensor {
        apply(inputs, padded: .some(edges), outputShape: outputShape, epilogue: epilogue)
    }
}

extension DepthwiseConv2D: BatchNormFoldable {
    public var foldableAxes: Set<Int> { [-1, 3] }
    public var foldedKernel: String { "depthwise_kernel" }
    /// Output channel `c · multiplier + m`: the last two axes together.
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.count == 4 ? shape[2] * shape[3] : 0 }
}
