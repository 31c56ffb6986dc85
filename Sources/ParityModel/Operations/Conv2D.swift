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
        let biasAndActivation = BiasAndActivation(bias: parameters.floats("bias"), activation: activation)
        if groups > 1, kernel.shape[2] == 1 {
            // One input channel per group (ConvNeXt's 7×7 convolutions): a depthwise convolution with multiplier
            // out / groups, whose [kh, kw, in, multiplier] kernel has the same memory layout as [kh, kw, 1, out].
            return DepthwiseConv2D.Prepared(
                kernel: values, kernelShape: [kernel.shape[0], kernel.shape[1], groups, kernel.shape[3] / groups],
                geometry: geometry, biasAndActivation: biasAndActivation, kernels: matrixProduct.vectorKernels)
        }
        let inner = kernel.shape[0] * kernel.shape[1] * kernel.shape[2]
        let columns = kernel.shape[3] / groups
        // Group g's matrix: columns g·columns ..< (g+1)·columns of the [inner, out] kernel (the kernel itself for one
        // group: no copy).
        let parts =
            groups == 1
            ? [values]
            : (0..<groups).map { g in
                var part = [Float](repeating: 0, count: inner * columns)
                for p in 0..<inner {
                    for j in 0..<columns { part[p * columns + j] = values[p * kernel.shape[3] + g * columns + j] }
                }
                return part
            }
        if groups > 1, inner * columns <= Self.directGroupSize {
            return Direct(
                kernel: parts.flatMap { $0 }, kernelShape: kernel.shape, groups: groups, geometry: geometry,
                biasAndActivation: biasAndActivation)
        }
        let matrices = parts.map { AbsoluteMatrix.packing($0, inner: inner, columns: columns, product: matrixProduct) }
        return Prepared(
            kernels: matrices.map(\.0), kernelShape: kernel.shape, geometry: geometry,
            biasAndActivation: biasAndActivation, absolute: matrices.map(\.1))
    }

    struct Prepared: Conv2DKernel {
        let kernels: [PackedMatrix]
        let kernelShape: [Int]
        let geometry: Convolution2D
        let biasAndActivation: BiasAndActivation
        /// Each group's `|K|`.
        let absolute: [AbsoluteMatrix]

        func convolveMagnitudes(_ v: FloatTensor, squared: Bool, outputShape: [Int]) -> FloatTensor {
            ImageKernels.conv2D(
                v, kernels: absolute.map { squared ? $0.squared : $0.matrix }, kernelShape: kernelShape,
                geometry: geometry, outputShape: outputShape)
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            apply(inputs, outputShape: outputShape, workspace: Workspace())
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int], workspace: Workspace) -> FloatTensor {
            apply(inputs, outputShape: outputShape, workspace: workspace, epilogue: .none)
        }
    }

    /// The largest group matrix (`kh·kw·in/groups × out/groups` floats, 32 KiB) computed directly rather than by
    /// one matmul per group: small groups are many, and a matmul each costs more than it computes.
    static let directGroupSize = 8192

    /// A grouped convolution with small groups, computed directly (`ImageKernels.groupedConv2D`).
    struct Direct: Conv2DKernel {
        let kernel: [Float]
        let kernelShape: [Int]
        let groups: Int
        let geometry: Convolution2D
        let biasAndActivation: BiasAndActivation

        /// As `Prepared`'s, computed directly.
        func convolveMagnitudes(_ v: FloatTensor, squared: Bool, outputShape: [Int]) -> FloatTensor {
            ImageKernels.groupedConv2D(
                v, kernel: kernel.map { squared ? $0 * $0 : abs($0) }, kernelShape: kernelShape, groups: groups,
                geometry: geometry, outputShape: outputShape)
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            var y = ImageKernels.groupedConv2D(
                inputs[0], kernel: kernel, kernelShape: kernelShape, groups: groups, geometry: geometry,
                outputShape: outputShape)
            biasAndActivation.finish(&y.values, channels: kernelShape[3])
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

/// What `Conv2D`'s two kernels (`Prepared`, `Direct`) share: the bound of a fused convolution, from the convolution
/// with `|K|` each computes its own way.
protocol Conv2DKernel: PreparedOperation {
    /// `[kh, kw, in / groups, out]`.
    var kernelShape: [Int] { get }
    var biasAndActivation: BiasAndActivation { get }
    /// The layer's convolution of `v` with `|K|` (`squared`: with `K²`), of the output's shape.
    func convolveMagnitudes(_ v: FloatTensor, squared: Bool, outputShape: [Int]) -> FloatTensor
}

extension Conv2DKernel {
    /// `√2·λ·√n·u·conv(|x|, |K|) + conv(b, |K|) + u·|bias|`, `n = kh·kw·in` (per group), then the activation's
    /// slope (`Convolution2D.linearBound`, then `BiasAndActivation.roundingBound`).
    func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
        -> [Float]
    {
        let linear = Convolution2D.linearBound(
            inputs[0], inputBound: inputBounds?[0], terms: kernelShape[0] * kernelShape[1] * kernelShape[2],
            roundoff: u
        ) { v, squared in convolveMagnitudes(v, squared: squared, outputShape: output.shape) }
        return biasAndActivation.roundingBound(linear, output: output, roundoff: u)
    }
}

extension Conv2D.Prepared: EpilogueProducing {
    /// The product, its bias and activation, then `epilogue` in one pass over the output (a block at a time): each
    /// run of rows right after it is computed, on its core, where the product's kernel computes it in runs
    /// (`RowFinishingOperand`); over the whole output after for an activation of whole rows (softmax).
    func apply(_ inputs: [FloatTensor], outputShape: [Int], workspace: Workspace, epilogue: Epilogue) -> FloatTensor {
        let channels = kernelShape[3]
        let finisher = biasAndActivation.rowFinisher(then: epilogue, channels: channels)
        var y = ImageKernels.conv2D(
            inputs[0], kernels: kernels, kernelShape: kernelShape, geometry: geometry, outputShape: outputShape,
            workspace: workspace, finishing: finisher)
        if finisher == nil {
            biasAndActivation.finish(&y.values, channels: channels)
            epilogue.apply(to: &y.values, channels: channels)
        }
        return y
    }
}

extension Conv2D: BatchNormFoldable {
    public var foldableAxes: Set<Int> { [-1, 3] }
    public var foldedKernel: String { "kernel" }
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.last ?? 0 }
}
