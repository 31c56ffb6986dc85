/// `y = activation(conv2d(x, kernel) + bias)` over NHWC input; `kernel` is `[kh, kw, in / groups, out]`, `bias`
/// optional. With `groups` above 1 (Keras' grouped convolution, as RegNet uses), the input and output channels are
/// split in `groups` runs and run `g` of outputs reads only run `g` of inputs. A model file without `groups` means 1.
public struct Conv2D: GroupedConvolutionOperation {
    public static let typeName = "conv2d"
    public var attributes: GroupedConvolutionAttributes<Convolution2D>

    public init(attributes: GroupedConvolutionAttributes<Convolution2D>) { self.attributes = attributes }

    public var parameters: [ParameterSlot] { [.required("kernel"), .optional("bias", vector: true)] }

    public func validate() throws(LayerProblem) {
        try geometry.validate()
        try Attribute.fused(activation)
        try Attribute.check("groups", [groups], count: 1, in: 1...Limits.elements, "must be positive")
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let kernel = try ParameterShape.required("kernel", parameter)
        try geometry.checkKernel("kernel", kernel)
        guard kernel[3] % groups == 0, let inChannels = Checked.product([kernel[2], groups]) else {
            throw .parameterShape(
                "kernel", expected: "[\(kernel[0]), \(kernel[1]), in / \(groups), a multiple of \(groups)]",
                actual: kernel)
        }
        try ParameterShape.vector("bias", length: kernel[3], parameter)
        let image = try ImageDims(inputs[0], channels: inChannels)
        let (height, width) = try geometry.outputs(image, input: inputs[0])
        let output = [image.batch, height, width, kernel[3]]
        try Checked.elementCount(output, "the output")
        // The gathered patches (im2col): one row of kh·kw·in values per output pixel.
        try Checked.elementCount([image.batch, height, width, kernel[0] * kernel[1], kernel[2]], "the patch buffer")
        return ValueShape(output)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let kernel = parameters.required("kernel")
        let values = kernel.floatValues()
        if groups > 1, kernel.shape[2] == 1 {
            // One input channel per group (ConvNeXt's 7×7 convolutions): a depthwise convolution with multiplier
            // out / groups, whose [kh, kw, in, multiplier] kernel has the same memory layout as [kh, kw, 1, out].
            return DepthwiseConv2D.Prepared(
                kernel: values, kernelShape: [kernel.shape[0], kernel.shape[1], groups, kernel.shape[3] / groups],
                bias: parameters.floats("bias"), geometry: geometry, activation: activation)
        }
        let inner = kernel.shape[0] * kernel.shape[1] * kernel.shape[2]
        let columns = kernel.shape[3] / groups
        // Group g's matrix: columns g·columns ..< (g+1)·columns of the [inner, out] kernel (the kernel itself for one
        // group: no copy).
        let parts = groups == 1 ? [values] : (0..<groups).map { g in
            var part = [Float](repeating: 0, count: inner * columns)
            for p in 0..<inner {
                for j in 0..<columns { part[p * columns + j] = values[p * kernel.shape[3] + g * columns + j] }
            }
            return part
        }
        if groups > 1, inner * columns <= Self.directGroupSize {
            return Direct(
                kernel: parts.flatMap { $0 }, kernelShape: kernel.shape, groups: groups,
                bias: parameters.floats("bias"),
                geometry: geometry, activation: activation)
        }
        let matrices = parts.map { AbsoluteMatrix.packing($0, inner: inner, columns: columns, product: matrixProduct) }
        return Prepared(
            kernels: matrices.map(\.0), kernelShape: kernel.shape, bias: parameters.floats("bias"),
            geometry: geometry, activation: activation, absolute: matrices.map(\.1))
    }

    struct Prepared: PreparedOperation {
        let kernels: [PackedMatrix]
        let kernelShape: [Int]
        let bias: [Float]?
        let geometry: Convolution2D
        let activation: Activation
        /// Each group's `|K|`.
        let absolute: [AbsoluteMatrix]

        /// `√2·λ·√n·u·conv(|x|, |K|) + conv(b, |K|) + u·|bias|`, `n = kh·kw·in` (per group), then the activation's
        /// slope.
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            Conv2D.fusedBound(inputs, inputBounds, output, kernelShape, bias, activation, roundoff: u) { v, squared in
                ImageKernels.conv2D(
                    v, kernels: absolute.map { squared ? $0.squared : $0.matrix }, kernelShape: kernelShape,
                    geometry: geometry, outputShape: output.shape)
            }
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            apply(inputs, outputShape: outputShape, workspace: Workspace())
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int], workspace: Workspace) -> FloatTensor {
            apply(inputs, outputShape: outputShape, workspace: workspace, epilogue: .none)
        }
    }

    /// A fused convolution's bound (`Convolution2D.linearBound` of a `kh·kw·in`-term product, then the bias's
    /// rounding and the activation's slope); `convolve` is the layer's convolution with `|K|` (`squared`: `K²`).
    static func fusedBound(
        _ inputs: [FloatTensor], _ inputBounds: [[Float]]?, _ output: FloatTensor, _ kernelShape: [Int],
        _ bias: [Float]?, _ activation: Activation, roundoff u: Float,
        convolve: (FloatTensor, _ squared: Bool) -> FloatTensor
    ) -> [Float] {
        var bound = Convolution2D.linearBound(
            inputs[0], inputBound: inputBounds?[0], terms: kernelShape[0] * kernelShape[1] * kernelShape[2],
            roundoff: u, convolve: convolve)
        activation.roundingBound(&bound, bias: bias, output: output, roundoff: u)
        return bound
    }

    /// The largest group matrix (`kh·kw·in/groups × out/groups` floats, 32 KiB) computed directly rather than by
    /// one matmul per group: small groups are many, and a matmul each costs more than it computes.
    static let directGroupSize = 8192

    /// A grouped convolution with small groups, computed directly (`ImageKernels.groupedConv2D`).
    struct Direct: PreparedOperation {
        let kernel: [Float]
        let kernelShape: [Int]
        let groups: Int
        let bias: [Float]?
        let geometry: Convolution2D
        let activation: Activation

        /// As `Prepared`'s, the product computed directly with `|K|`.
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            Conv2D.fusedBound(inputs, inputBounds, output, kernelShape, bias, activation, roundoff: u) { v, squared in
                ImageKernels.groupedConv2D(
                    v, kernel: kernel.map { squared ? $0 * $0 : abs($0) }, kernelShape: kernelShape, groups: groups,
                    geometry: geometry, outputShape: output.shape)
            }
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            var y = ImageKernels.groupedConv2D(
                inputs[0], kernel: kernel, kernelShape: kernelShape, groups: groups, geometry: geometry,
                outputShape: outputShape)
            activation.finish(&y.values, bias: bias, channels: kernelShape[3])
            return y
        }
    }

    /// `groups` is written only when it is not 1, so ungrouped layers keep the record they always had.
    public func encode(to encoder: any Encoder) throws {
        try geometry.encode(to: encoder)
        var container = encoder.container(keyedBy: GroupedConvolutionCodingKeys.self)
        try container.encode(activation, forKey: .activation)
        if groups != 1 { try container.encode(groups, forKey: .groups) }
    }
}

extension Conv2D.Prepared: EpilogueProducing {
    /// The product, its bias and activation, then `epilogue` in one pass over the output (a block at a time).
    func apply(_ inputs: [FloatTensor], outputShape: [Int], workspace: Workspace, epilogue: Epilogue) -> FloatTensor {
        var y = ImageKernels.conv2D(
            inputs[0], kernels: kernels, kernelShape: kernelShape, geometry: geometry, outputShape: outputShape,
            workspace: workspace)
        activation.finish(&y.values, bias: bias, channels: kernelShape[3])
        epilogue.apply(to: &y.values, channels: kernelShape[3])
        return y
    }
}

extension Conv2D: BatchNormFoldable {
    public var foldableAxes: Set<Int> { [-1, 3] }
    public var foldedKernel: String { "kernel" }
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.last ?? 0 }
}
