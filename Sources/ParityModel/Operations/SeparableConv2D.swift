/// A depthwise convolution (`depthwise_kernel [kh, kw, in, multiplier]`) then a 1×1 one (`pointwise_kernel
/// [1, 1, in * multiplier, out]`), `bias` optional, over NHWC input.
public struct SeparableConv2D: LayerOperation {
    public static let typeName = "separable_conv2d"
    public var geometry: Convolution2D
    public var depthMultiplier: Int
    public var activation: Activation

    public init(_ geometry: Convolution2D, depthMultiplier: Int = 1, activation: Activation = .linear) {
        self.geometry = geometry
        self.depthMultiplier = depthMultiplier
        self.activation = activation
    }

    public var parameters: [ParameterSlot] {
        [.required("depthwise_kernel"), .required("pointwise_kernel"), .optional("bias", vector: true)]
    }

    public func validate() throws(LayerProblem) {
        try geometry.validate()
        try Attribute.positive("depth_multiplier", [depthMultiplier], count: 1)
        try Attribute.fused(activation)
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let depthwise = DepthwiseConv2D(geometry, depthMultiplier: depthMultiplier)
        let middle = try depthwise.outputShape(inputs: inputs) { $0 == "depthwise_kernel" ? parameter($0) : nil }
        let channels = middle.lastDimension ?? 0
        let pointwise = try ParameterShape.required("pointwise_kernel", parameter)
        guard pointwise.count == 4, pointwise[0] == 1, pointwise[1] == 1, pointwise[2] == channels else {
            throw .parameterShape("pointwise_kernel", expected: "[1, 1, \(channels), out]", actual: pointwise)
        }
        try ParameterShape.vector("bias", length: pointwise[3], parameter)
        let output = middle.replacingLast(with: pointwise[3])
        try Checked.elementCount(output.dims, "the output")
        return output
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let depthwise = parameters.required("depthwise_kernel")
        let pointwise = parameters.required("pointwise_kernel")
        return Prepared(
            depthwise: depthwise.floatValues(), depthwiseShape: depthwise.shape,
            pointwise: PackedMatrix(
                pointwise.floatValues(), inner: pointwise.shape[2], columns: pointwise.shape[3],
                product: matrixProduct),
            bias: parameters.floats("bias"), geometry: geometry, activation: activation)
    }

    struct Prepared: PreparedOperation {
        let depthwise: [Float]
        let depthwiseShape: [Int]
        let pointwise: PackedMatrix
        let bias: [Float]?
        let geometry: Convolution2D
        let activation: Activation

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            let middleShape = Array(outputShape.dropLast()) + [pointwise.inner]
            let middle = ImageKernels.depthwiseConv2D(
                inputs[0], kernel: depthwise, kernelShape: depthwiseShape, geometry: geometry,
                outputShape: middleShape)
            var y = Kernels.matmul(middle.values, rows: middle.count / pointwise.inner, pointwise)
            if let bias { Kernels.addBias(&y, bias) }
            activation.apply(to: &y, lastDimension: pointwise.columns)
            return FloatTensor(shape: outputShape, values: y)
        }
    }

    enum CodingKeys: String, CodingKey {
        case activation
        case depthMultiplier = "depth_multiplier"
    }

    public init(from decoder: any Decoder) throws {
        geometry = try Convolution2D(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        depthMultiplier = try container.decode(Int.self, forKey: .depthMultiplier)
        activation = try container.decode(Activation.self, forKey: .activation)
    }

    public func encode(to encoder: any Encoder) throws {
        try geometry.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(depthMultiplier, forKey: .depthMultiplier)
        try container.encode(activation, forKey: .activation)
    }
}

extension SeparableConv2D: BatchNormFoldable {
    public var foldableAxes: Set<Int> { [-1, 3] }
    public var foldedKernel: String { "pointwise_kernel" }
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.last ?? 0 }
}
