/// Per-channel convolution over `[N, L, C]` input; `depthwise_kernel` is `[k, in, multiplier]`, output channel
/// `c * multiplier + m` (as `DepthwiseConv2D`), `bias` optional, `padding` valid, same or causal.
public struct DepthwiseConv1D: LayerOperation {
    public static let typeName = "depthwise_conv1d"
    public var geometry: Convolution1D
    public var depthMultiplier: Int
    public var activation: Activation

    public init(_ geometry: Convolution1D, depthMultiplier: Int = 1, activation: Activation = .linear) {
        self.geometry = geometry
        self.depthMultiplier = depthMultiplier
        self.activation = activation
    }

    public var parameters: [ParameterSlot] { [.required("depthwise_kernel"), .optional("bias", vector: true)] }

    var planar: DepthwiseConv2D {
        DepthwiseConv2D(geometry.planar, depthMultiplier: depthMultiplier, activation: activation)
    }

    public func validate() throws(LayerProblem) {
        try geometry.validate()
        try planar.validate()
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try Convolution1D.checkKernels(parameter, ["depthwise_kernel"])
        let shape = try planar.outputShape(inputs: [try geometry.planarInput(inputs[0])]) {
            Convolution1D.planarShape($0, parameter($0), kernels: ["depthwise_kernel"])
        }
        return Convolution1D.sequence(shape)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Conv1D.Prepared(
            geometry: geometry,
            planar: planar.prepare(
                Convolution1D.planarValues(parameters, kernels: ["depthwise_kernel"]), matrixProduct: matrixProduct))
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

extension DepthwiseConv1D: BatchNormFoldable {
    public var foldableAxes: Set<Int> { [-1, 2] }
    public var foldedKernel: String { "depthwise_kernel" }
    /// Output channel `c · multiplier + m`: the last two axes together.
    public func outputChannels(ofKernel shape: [Int]) -> Int { shape.count == 3 ? shape[1] * shape[2] : 0 }
}
