import TensorCore

/// Keras' `Normalization` at inference: `y = (x - mean) / max(sqrt(variance), 1e-7)`, or with `invert`
/// `y = mean + x * max(sqrt(variance), 1e-7)`, in float32 (the epsilon is Keras' `backend.epsilon()`).
///
/// `axis` lists the axes kept (one statistic per position along them; empty: one scalar for the whole input). The
/// statistics are the `mean` and `variance` parameters (an adapted layer's weights, of the kept axes' shape), or
/// constants from the layer's config (`mean`, `variance` attributes, of shape `constant_shape`, right-aligned to the
/// kept axes and broadcast along them). The optional `count` parameter (the samples `adapt()` saw) is kept as the
/// source has it and not used.
public struct Normalization: LayerOperation {
    public static let typeName = "normalization"
    public var axis: [Int]
    public var invert: Bool
    /// Config constants, flattened in C order; nil: the statistics are parameters.
    public var mean: [Float]?
    public var variance: [Float]?
    public var constantShape: [Int]?

    /// Keras' `backend.epsilon()`, below which the standard deviation is not taken.
    static let epsilon: Float = 1e-7

    public init(
        axis: [Int] = [-1], invert: Bool = false, mean: [Float]? = nil, variance: [Float]? = nil,
        constantShape: [Int]? = nil
    ) {
        self.axis = axis
        self.invert = invert
        self.mean = mean
        self.variance = variance
        self.constantShape = constantShape ?? mean.map { $0.count == 1 ? [] : [$0.count] }
    }

    public var parameters: [ParameterSlot] { [.optional("mean"), .optional("variance"), .optional("count")] }

    enum CodingKeys: String, CodingKey {
        case axis, invert, mean, variance
        case constantShape = "constant_shape"
    }

    public func validate() throws(LayerProblem) {
        try Attribute.axes("axis", axis, allowEmpty: true)
        guard (mean == nil) == (variance == nil), (mean == nil) == (constantShape == nil) else {
            throw .attribute(
                "mean", value: mean == nil ? "null" : "[…]",
                reason: "mean, variance and constant_shape come together (constants) or not at all (parameters)")
        }
        guard let mean, let variance, let constantShape else { return }
        guard constantShape.count <= axis.count, constantShape.allSatisfy({ $0 > 0 }),
            let count = Checked.product(constantShape), count <= Limits.elements
        else {
            throw .attribute(
                "constant_shape", constantShape, "must be positive sizes, no more of them than kept axes (\(axis))")
        }
        guard mean.count == count, variance.count == count else {
            throw .attribute(
                "mean", value: "\(mean.count) and \(variance.count) values",
                reason: "mean and variance must hold \(count) values (constant_shape \(Shape.describe(constantShape)))")
        }
        guard mean.allSatisfy(\.isFinite), variance.allSatisfy(\.isFinite) else {
            throw .attribute("mean", value: "[…]", reason: "mean and variance must be finite")
        }
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let x = inputs[0]
        if let count = parameter("count"), Checked.product(count) != 1 {
            throw .parameterShape("count", expected: "a scalar", actual: count)
        }
        let statistics: [Int]
        if let constantShape {
            for name in ["mean", "variance"] where parameter(name) != nil {
                throw .parameterShape(
                    name, expected: "no parameter (the layer's constants are in its attributes)",
                    actual: parameter(name) ?? [])
            }
            statistics = constantShape
        } else {
            guard let mean = parameter("mean") else { throw .missingParameter("mean") }
            guard let variance = parameter("variance") else { throw .missingParameter("variance") }
            guard variance == mean, mean.count <= axis.count, !mean.contains(0), Checked.product(mean) != nil else {
                throw .parameterShape(
                    "variance", expected: "\(Shape.describe(mean)) like mean, one axis per kept axis", actual: variance)
            }
            statistics = mean
        }
        guard let rank = x.rank else { return x }
        let kept = try Attribute.normalizedAxes("axis", axis, rank: rank)
        // Right-aligned to the kept axes, each 1 or the input's size there.
        for (k, size) in statistics.enumerated() {
            let dimension = x.dims[kept[k + kept.count - statistics.count]]
            if size != 1, let dimension, dimension != size {
                throw .inputShape(
                    expected: "sizes \(Shape.describe(statistics)) on axes \(kept) for the statistics",
                    actual: "\(x)")
            }
        }
        return x
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let mean = self.mean ?? parameters.required("mean").floatValues()
        let variance = self.variance ?? parameters.required("variance").floatValues()
        let shape = constantShape ?? parameters.required("mean").shape
        let deviation = variance.map { max($0.squareRoot(), Self.epsilon) }
        return Prepared(axis: axis, invert: invert, mean: mean, deviation: deviation, shape: shape)
    }

    struct Prepared: PreparedOperation {
        let axis: [Int]
        let invert: Bool
        let mean: [Float]
        /// `max(sqrt(variance), epsilon)`.
        let deviation: [Float]
        let shape: [Int]

        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            RoundingBound.estimated(self, inputs, inputBounds: inputBounds, output: output, roundoff: u, terms: 1)
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            let x = inputs[0]
            let rank = x.shape.count
            let kept = Set(axis.map { $0 < 0 ? $0 + rank : $0 }).sorted()
            var y = [Float](repeating: 0, count: x.count)
            // The common layouts index the statistics by position modulo their count: one per channel, or one block
            // of trailing axes.
            let count = mean.count
            let trailing =
                kept == Array((rank - kept.count)..<rank)
                && shape == kept.suffix(shape.count).map { x.shape[$0] } && shape.count == kept.count
            let index: [Int]? =
                trailing ? nil : NormalizationKernels.broadcastIndex(x.shape, keptAxes: kept, parameterShape: shape)
            x.values.withUnsafeBufferPointer { x in
                for i in 0..<x.count {
                    let c = index?[i] ?? i % count
                    y[i] = invert ? mean[c] + x[i] * deviation[c] : (x[i] - mean[c]) / deviation[c]
                }
            }
            return FloatTensor(shape: x.shape, values: y)
        }
    }
}
