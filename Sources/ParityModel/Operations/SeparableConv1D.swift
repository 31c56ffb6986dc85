/// A depthwise convolution (`depthwise_kernel [k, in, multiplier]`) then a pointwise one (`pointwise_kernel
/// [1, in * multiplier, out]`), `bias` optional, over `[N, L, C]` input, as `SeparableConv2D` over a unit height axis.
public struct SeparableConv1D: LayerOperation {
    public static let typeName = "separable_conv1d"
    public var geometry: Convolution1D
    public var depthMultiplier: Int
    public var activation: Activation

    static let kernels: Set<String> = ["depthwise_kernel", "pointwise_kernel"]

    public init(_ geometry: Convolution1D, depthMultiplier: Int = 1, activation: Activation = .linear) {
        self.geometry = geometry
        self.depthMultiplier = depthMultiplier
        self.activation = activation
    }

    public var parameters: [ParameterSlot] {
        [.required("depthwise_kernel"), .required("pointwise_kernel"), .optional("bias", vector: true)]
    }

    var planar: SeparableConv2D {
        SeparableConv2D(geometry.planar, depthMultiplier: depthMultiplier, activation: activation)
    }

    public func validate() throws(LayerProblem) {
        try geometry.validate()
        try planar.validate()
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try Convolution1D.checkKernels(parameter, Self.kernels)
        let shape = try planar.outputShape(inputs: [try geometry.planarInput(inputs[0])]) {
            Convolution1D.planarShape($0, parameter($0), kernels: Self.kernels)
        }
        return Convolution1D.sequence(shape)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Conv1D.Prepared(
            geometry: geometry,
            planar: planar.prepare(
                Convolution1D.planarValues(parameters, kernels: Self.kernels), matrixProduct: matrixProduct))
    }

    enum CodingKeys: String, CodingKey {
        case activation
        case depthMultiplier = "depth_multiplier"
    }

    public init(from decoder: any Decoder) throws {
        geometry = try Convolution1D(from: decoder)
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

extension SeparableConv1D: BatchNormFoldable {
    public var foldableAxes: Set<Int> { [-1, 2] }
    public var foldedKernel: String { "pointwise_kernel" }
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.last ?? 0 }
}
