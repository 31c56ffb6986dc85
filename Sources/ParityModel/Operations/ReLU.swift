/// Keras' `ReLU` layer: zero below `threshold`, `negative_slope * (x - threshold)` there when non-zero, clipped at
/// `max_value`.
public struct ReLU: SelfPreparedOperation {
    public static let typeName = "relu"
    public var maxValue: Float?
    public var negativeSlope: Float
    public var threshold: Float

    public init(maxValue: Float? = nil, negativeSlope: Float = 0, threshold: Float = 0) {
        self.maxValue = maxValue
        self.negativeSlope = negativeSlope
        self.threshold = threshold
    }

    enum CodingKeys: String, CodingKey {
        case maxValue = "max_value"
        case negativeSlope = "negative_slope"
        case threshold
    }

    public func validate() throws(LayerProblem) {
        try Attribute.finite("negative_slope", Double(negativeSlope))
        try Attribute.finite("threshold", Double(threshold))
        if let maxValue { try Attribute.finite("max_value", Double(maxValue)) }
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) -> ValueShape { inputs[0] }

    /// Piecewise linear: its largest slope times the incoming bound, plus `u·|y|` for the slope's product (a clip
    /// rounds nothing).
    public func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
        -> [Float]
    {
        // Without a negative slope it only clips (exact); the slope's product rounds.
        if inputBounds == nil, negativeSlope == 0 { return [] }
        let slope = max(1, abs(negativeSlope))
        let own = negativeSlope == 0 ? 0 : u
        let incoming = inputBounds?[0]
        return output.values.indices.map { i in slope * (incoming?[i] ?? 0) + own * abs(output.values[i]) }
    }

    /// Itself, or for Keras' ReLU and ReLU6 (no threshold, no slope) where `matrixProduct` comes with a wider clamp,
    /// the layer computing with it (`Vectorised`: the same values).
    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let kernels = matrixProduct.vectorKernels
        guard threshold == 0, negativeSlope == 0, kernels.clamp != nil else { return self }
        return Vectorised(layer: self, kernels: kernels)
    }

    public func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        apply(inputs, outputShape: outputShape, kernels: .portable)
    }

    fileprivate func apply(_ inputs: [FloatTensor], outputShape: [Int], kernels: VectorKernels) -> FloatTensor {
        let slope = negativeSlope
        if threshold == 0, slope == 0 {
            // Keras' ReLU and ReLU6: one vectorised pass into the new value.
            return FloatTensor(
                shape: outputShape, values: Kernels.clamped(inputs[0].values, maximum: maxValue, kernels: kernels))
        }
        var y = inputs[0].values
        for i in y.indices {
            let value = y[i]
            var out = threshold != 0 ? (value > threshold ? value : 0) : max(value, 0)
            if let maxValue { out = min(max(out, 0), maxValue) }
            if slope != 0 { out -= slope * max(-value + threshold, 0) }
            y[i] = out
        }
        return FloatTensor(shape: outputShape, values: y)
    }
}

extension ReLU: EpilogueOperation {
    /// Keras' ReLU and ReLU6 (no threshold, no slope), as `apply` computes them.
    public func fuses(shape: [Int]) -> Bool { isClamp }

    /// No threshold and no slope: a clamp to `[0, maxValue]`.
    var isClamp: Bool { threshold == 0 && negativeSlope == 0 }

    public var elementWork: Int { 1 }

    public func applyInPlace(_ base: UnsafeMutablePointer<Float>, count: Int, channels: Int) {
        Kernels.clamp(base, into: base, count: count, maximum: maxValue)
    }

    /// The clamp `applyInPlace` applies.
    public var columnStep: ColumnStep? { isClamp ? .clamp(maximum: maxValue) : nil }
}

extension ReLU {
    /// Keras' ReLU or ReLU6 with a wider clamp (`VectorKernels`), in every path the layer has.
    struct Vectorised: EpilogueOperation {
        let layer: ReLU
        let kernels: VectorKernels

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            layer.apply(inputs, outputShape: outputShape, kernels: kernels)
        }

        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            layer.roundingBound(inputs, inputBounds: inputBounds, output: output, roundoff: u)
        }

        func fuses(shape: [Int]) -> Bool { layer.fuses(shape: shape) }

        var elementWork: Int { layer.elementWork }

        func applyInPlace(_ base: UnsafeMutablePointer<Float>, count: Int, channels: Int) {
            Kernels.clamp(base, into: base, count: count, maximum: layer.maxValue, kernels: kernels)
        }

        var columnStep: ColumnStep? { layer.columnStep }
    }
}
