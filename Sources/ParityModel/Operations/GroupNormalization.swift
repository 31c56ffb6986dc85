/// Group normalisation over the channels-last axis: per sample, the channels split into `groups` runs of
/// `channels / groups`, each normalised by its mean and biased variance over every position, then per-channel
/// `gamma`/`beta` (optional) in TensorFlow's order: `inv = rsqrt(variance + epsilon) * gamma;
/// y = x * inv + (beta - mean * inv)`. `axis` must name the last axis (Keras' default, -1).
public struct GroupNormalization: LayerOperation {
    public static let typeName = "group_normalization"
    public var groups: Int
    public var axis: Int
    public var epsilon: Double

    public init(groups: Int, axis: Int = -1, epsilon: Double = 1e-3) {
        self.groups = groups
        self.axis = axis
        self.epsilon = epsilon
    }

    public var parameters: [ParameterSlot] { [.optional("gamma", vector: true), .optional("beta", vector: true)] }

    public func validate() throws(LayerProblem) {
        try Attribute.positive("groups", [groups], count: 1)
        try Attribute.plausibleAxis("axis", axis)
        try Attribute.finite("epsilon", epsilon, nonNegative: true)
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let x = inputs[0]
        if let rank = x.rank {
            guard rank >= 2 else { throw .inputShape(expected: "[N, …, C]", actual: "\(x)") }
            guard try Attribute.axis("axis", axis, rank: rank) == rank - 1 else {
                throw .attribute("axis", value: "\(axis)", reason: "must be the last (channels) axis")
            }
        } else if axis >= 0 {
            throw .attribute("axis", value: "\(axis)", reason: "must be the last (channels) axis, -1")
        }
        guard let channels = x.lastDimension else {
            for name in ["gamma", "beta"] {
                if let shape = parameter(name) { try ParameterShape.nonEmpty(name, shape) }
            }
            return x
        }
        guard channels % groups == 0 else {
            throw .inputShape(expected: "channels a multiple of groups (\(groups))", actual: "\(x)")
        }
        for name in ["gamma", "beta"] { try ParameterShape.vector(name, length: channels, parameter) }
        return x
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(
            groups: groups, gamma: parameters.floats("gamma"), beta: parameters.floats("beta"),
            epsilon: Float(epsilon))
    }

    struct Prepared: PreparedOperation {
        let groups: Int
        let gamma: [Float]?
        let beta: [Float]?
        let epsilon: Float

        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            RoundingBound.estimated(self, inputs, inputBounds: inputBounds, output: output, roundoff: u, terms: max(1, inputs[0].count / max(1, inputs[0].shape[0] * groups)))
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            NormalizationKernels.groupNormalize(inputs[0], groups: groups, gamma: gamma, beta: beta, epsilon: epsilon)
        }
    }
}
