/// `y = activation(conv2d(x, kernel) + bias)` over NHWC input; `kernel` is `[kh, kw, in, out]`, `bias` optional.
public struct Conv2D: LayerOperation {
    public static let typeName = "conv2d"
    public var geometry: Convolution2D
    public var activation: Activation

    public init(_ geometry: Convolution2D, activation: Activation = .linear) {
        self.geometry = geometry
        self.activation = activation
    }

    public var parameters: [ParameterSlot] { [.required("kernel"), .optional("bias", vector: true)] }

    public func validate() throws(LayerProblem) {
        try geometry.validate()
        try Attribute.fused(activation)
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let kernel = try ParameterShape.required("kernel", parameter)
        try geometry.checkKernel("kernel", kernel)
        try ParameterShape.vector("bias", length: kernel[3], parameter)
        let image = try ImageDims(inputs[0], channels: kernel[2])
        let (height, width) = try geometry.outputs(image, input: inputs[0])
        let output = [image.batch, height, width, kernel[3]]
        try Checked.elementCount(output, "the output")
        // The gathered patches (im2col): one row of kh·kw·in values per output pixel.
        try Checked.elementCount([image.batch, height, width, kernel[0] * kernel[1], kernel[2]], "the patch buffer")
        return ValueShape(output)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let kernel = parameters.required("kernel")
        return Prepared(
            kernel: PackedMatrix(
                kernel.floatValues(), inner: kernel.shape[0] * kernel.shape[1] * kernel.shape[2],
                columns: kernel.shape[3], product: matrixProduct),
            kernelShape: kernel.shape, bias: parameters.floats("bias"), geometry: geometry, activation: activation)
    }

    struct Prepared: PreparedOperation {
        let kernel: PackedMatrix
        let kernelShape: [Int]
        let bias: [Float]?
        let geometry: Convolution2D
        let activation: Activation

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            var y = ImageKernels.conv2D(
                inputs[0], kernel: kernel, kernelShape: kernelShape, geometry: geometry, outputShape: outputShape)
            if let bias { Kernels.addBias(&y.values, bias) }
            activation.apply(to: &y.values, lastDimension: kernelShape[3])
            return y
        }
    }

    enum CodingKeys: String, CodingKey { case activation }

    public init(from decoder: any Decoder) throws {
        geometry = try Convolution2D(from: decoder)
        activation = try decoder.container(keyedBy: CodingKeys.self).decode(Activation.self, forKey: .activation)
    }

    public func encode(to encoder: any Encoder) throws {
        try geometry.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(activation, forKey: .activation)
    }
}

extension Conv2D: BatchNormFoldable {
    public var foldableAxes: Set<Int> { [-1, 3] }
    public var foldedKernel: String { "kernel" }
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.last ?? 0 }
}
