/// A depthwise convolution (`depthwise_kernel [kh, kw, in, multiplier]`) then a 1×1 one (`pointwise_kernel
/// [1, 1, in * multiplier, out]`), `bias` optional, over NHWC input.
public struct SeparableConv2D: DepthwiseConvolutionOperation {
    public static let typeName = "separable_conv2d"
    public var attributes: DepthwiseAttributes<Convolution2D>

    public init(attributes: DepthwiseAttributes<Convolution2D>) { self.attributes = attributes }

    public var parameters: [ParameterSlot] {
        [.required("depthwise_kernel"), .required("pointwise_kernel"), .optional("bias", vector: true)]
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let depthwise = DepthwiseConv2D(geometry, depthMultiplier: depthMultiplier)
        let middle = try depthwise.outputShape(inputs: inputs) { $0 == "depthwise_kernel" ? parameter($0) : nil }
        let channels = middle.lastDimension ?? 0
        let pointwise = try ParameterShape.required("pointwise_kernel", parameter)
        guard pointwise.count == 4, pointwise[0] == 1, pointwise[1] == 1, pointwise[2] == channels else {
            throw .parameterShape("pointwise_kernel", expected: "[1, 1, \(channels), out]", actual: pointwise)
        }
        return try ParameterShape.productOutput(middle, channels: pointwise[3], parameter)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let depthwise = parameters.required("depthwise_kernel")
        let pointwise = parameters.required("pointwise_kernel")
        let (packed, absolute) = AbsoluteMatrix.packing(
            pointwise.floatValues(), inner: pointwise.shape[2], columns: pointwise.shape[3], product: matrixProduct)
        return Prepared(
            depthwise: DepthwiseConv2D.Prepared(
                kernel: depthwise.floatValues(), kernelShape: depthwise.shape, geometry: geometry,
                biasAndActivation: BiasAndActivation(bias: nil, activation: .linear),
                kernels: matrixProduct.vectorKernels),
            pointwise: packed, absolutePointwise: absolute,
            biasAndActivation: BiasAndActivation(bias: parameters.floats("bias"), activation: activation))
    }

    struct Prepared: PreparedOperation {
        /// The depthwise stage alone: no bias, linear.
        let depthwise: DepthwiseConv2D.Prepared
        let pointwise: PackedMatrix
        let absolutePointwise: AbsoluteMatrix
        let biasAndActivation: BiasAndActivation

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            apply(inputs, outputShape: outputShape, workspace: Workspace(), epilogue: .none)
        }

        /// The depthwise stage's bound, then the pointwise product's (`√2·λ·√n·u·|mid|·|P| + b_mid·|P|`).
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            let shape = middleShape(output.shape)
            let middle = depthwise.apply(inputs, outputShape: shape)
            let middleBound = depthwise.linearBound(
                inputs[0], inputBound: inputBounds?[0], outputShape: shape, roundoff: u)
            let linear = absolutePointwise.productBound(
                middle.values, inputBound: middleBound, rows: middle.count / pointwise.inner, roundoff: u)
            return biasAndActivation.roundingBound(linear, output: output, roundoff: u)
        }

        func middleShape(_ outputShape: [Int]) -> [Int] { Array(outputShape.dropLast()) + [pointwise.inner] }
    }
}

extension SeparableConv2D.Prepared: EpilogueProducing {
    /// Both stages, the bias and activation, then `epilogue` in one pass over the output (a block at a time), the
    /// pointwise product's runs of rows finished as `Conv2D`'s are.
    func apply(_ inputs: [FloatTensor], outputShape: [Int], workspace: Workspace, epilogue: Epilogue) -> FloatTensor {
        let middle = depthwise.apply(inputs, outputShape: middleShape(outputShape))
        let (rows, channels) = (middle.count / pointwise.inner, pointwise.columns)
        let finisher = biasAndActivation.rowFinisher(then: epilogue, channels: channels)
        var y = middle.values.withUnsafeBufferPointer { m in
            guard let base = m.baseAddress else { return [Float]() }
            guard let finisher else { return Kernels.matmul(base, rows: rows, pointwise) }
            return Kernels.matmul(base, rows: rows, pointwise, finishing: finisher)
        }
        if finisher == nil {
            biasAndActivation.finish(&y, channels: channels)
            epilogue.apply(to: &y, channels: channels)
        }
        return FloatTensor(shape: outputShape, values: y)
    }
}

extension SeparableConv2D: BatchNormFoldable {
    public var foldableAxes: Set<Int> { [-1, 3] }
    public var foldedKernel: String { "pointwise_kernel" }
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.last ?? 0 }
}
