/// `inputs[0] + inputs[1] * scale` (NumPy broadcasting), InceptionResNetV2's `CustomScaleLayer`.
public struct CustomScale: LayerOperation {
    public static let typeName = "custom_scale"
    public static var inputCount: ClosedRange<Int> { 2...2 }
    public var scale: Double

    public init(scale: Double) { self.scale = scale }

    public func validate() throws(LayerProblem) { try Attribute.finite("scale", scale) }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try ShapeKernels.broadcastShape(inputs)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(scale: Float(scale))
    }

    struct Prepared: PreparedOperation {
        let scale: Float

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            var scaled = inputs[1]
            for i in scaled.values.indices { scaled.values[i] *= scale }
            return ShapeKernels.combine([inputs[0], scaled], outputShape: outputShape, +)
        }

        /// `b_x + |scale|·b_y + u·(|x| + 2|scale·y|)`: the product's rounding, then the sum's.
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            let scaled = FloatTensor(shape: inputs[1].shape, values: inputs[1].values.map { $0 * scale })
            let scaledBound =
                inputBounds.map { b in b[1].indices.map { abs(scale) * b[1][$0] + u * abs(scaled.values[$0]) } }
                ?? scaled.values.map { u * abs($0) }
            return Elementwise(.add).roundingBound(
                [inputs[0], scaled],
                inputBounds: [inputBounds?[0] ?? [Float](repeating: 0, count: inputs[0].count), scaledBound],
                output: output, roundoff: u)
        }
    }
}
