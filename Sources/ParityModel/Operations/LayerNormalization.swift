import TensorCore

/// Layer normalisation over `axis` (one or several axes, negative counting from the end): each slice's mean and
/// biased variance, then `gamma`/`beta` (optional, of the normalised axes' shape) in TensorFlow's order,
/// `inv = rsqrt(variance + epsilon) * gamma; y = x * inv + (beta - mean * inv)` — or, with `fused` (tf_keras' fused
/// path, taken for trailing axes and epsilon ≥ 1.001e-5), `(x - mean) * rsqrt(variance + epsilon) * gamma + beta`.
public struct LayerNormalization: LayerOperation {
    public static let typeName = "layer_normalization"
    public var axis: [Int]
    public var epsilon: Double
    public var fused: Bool

    public init(axis: [Int] = [-1], epsilon: Double = 1e-3, fused: Bool = false) {
        self.axis = axis
        self.epsilon = epsilon
        self.fused = fused
    }

    public var parameters: [ParameterSlot] { [.optional("gamma"), .optional("beta")] }

    public func validate() throws(LayerProblem) {
        try Attribute.finite("epsilon", epsilon, nonNegative: true)
        try Attribute.axes("axis", axis, allowEmpty: false)
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let x = inputs[0]
        guard let rank = x.rank else {
            // Before the rank is known, only the parameters' own shapes can be checked.
            for name in ["gamma", "beta"] {
                if let shape = parameter(name) { try ParameterShape.nonEmpty(name, shape) }
            }
            return x
        }
        let axes = try Attribute.normalizedAxes("axis", axis, rank: rank)
        let dims = axes.map { x.dims[$0] }
        let known = dims.compactMap { $0 }
        for name in ["gamma", "beta"] {
            guard let shape = parameter(name) else { continue }
            try ParameterShape.nonEmpty(name, shape)
            if known.count == dims.count, !Self.fits(shape, dims: known) {
                throw .parameterShape(name, expected: Shape.describe(known), actual: shape)
            }
        }
        return x
    }

    /// A parameter of the normalised axes' shape (size-1 axes aside, so `[C]` fits `[1, C]`).
    static func fits(_ shape: [Int], dims: [Int]) -> Bool {
        shape.filter { $0 != 1 } == dims.filter { $0 != 1 }
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(
            axis: axis, gamma: parameters.floats("gamma"), beta: parameters.floats("beta"), epsilon: Float(epsilon),
            fused: fused)
    }

    struct Prepared: PreparedOperation {
        let axis: [Int]
        let gamma: [Float]?
        let beta: [Float]?
        let epsilon: Float
        let fused: Bool

        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            RoundingBound.estimated(self, inputs, inputBounds: inputBounds, output: output, roundoff: u, terms: max(1, inputs[0].count / max(1, inputs[0].shape[0])))
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            let x = inputs[0]
            let rank = x.shape.count
            let axes = Set(axis.map { $0 < 0 ? $0 + rank : $0 }).sorted()
            let width = axes.map { x.shape[$0] }.reduce(1, *)
            let rows = width == 0 ? 0 : x.count / width
            // Trailing axes are contiguous rows; any other set is gathered into rows and scattered back.
            if axes == Array((rank - axes.count)..<rank) {
                let order: NormalizationKernels.Order = fused ? .fusedBatchNorm : .batchNormalization
                let y = NormalizationKernels.normalizeRows(
                    x.values, rows: rows, width: width, gamma: gamma, beta: beta, epsilon: epsilon, order: order)
                return FloatTensor(shape: x.shape, values: y)
            }
            let (outer, inner) = NormalizationKernels.split(x.shape, axes: axes)
            var gathered = [Float](repeating: 0, count: x.count)
            for (o, base) in outer.enumerated() {
                for (j, offset) in inner.enumerated() { gathered[o * width + j] = x.values[base + offset] }
            }
            let normalized = NormalizationKernels.normalizeRows(
                gathered, rows: rows, width: width, gamma: gamma, beta: beta, epsilon: epsilon,
                order: .batchNormalization)
            var y = [Float](repeating: 0, count: x.count)
            for (o, base) in outer.enumerated() {
                for (j, offset) in inner.enumerated() { y[base + offset] = normalized[o * width + j] }
            }
            return FloatTensor(shape: x.shape, values: y)
        }
    }

    enum CodingKeys: String, CodingKey { case axis, epsilon, fused }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        axis = try container.decode([Int].self, forKey: .axis)
        epsilon = try container.decode(Double.self, forKey: .epsilon)
        fused = try container.decodeIfPresent(Bool.self, forKey: .fused) ?? false
    }
}
