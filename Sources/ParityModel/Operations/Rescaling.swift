/// `y = x * scale + offset`, as Keras' `Rescaling` layer with scalar arguments.
public struct Rescaling: LayerOperation {
    public static let typeName = "rescaling"
    public var scale: Float
    public var offset: Float

    public init(scale: Float, offset: Float = 0) {
        self.scale = scale
        self.offset = offset
    }

    public func validate() throws(LayerProblem) {
        try Attribute.finite("scale", Double(scale))
        try Attribute.finite("offset", Double(offset))
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) -> ValueShape { inputs[0] }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(scale: scale, offset: offset)
    }

    struct Prepared: PreparedOperation {
        let scale: Float
        let offset: Float

        /// `|scale|·b + 2u·(|x·scale| + |offset|)`.
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            let x = inputs[0].values
            let incoming = inputBounds?[0]
            return x.indices.map { i in
                abs(scale) * (incoming?[i] ?? 0) + 2 * u * (abs(x[i] * scale) + abs(offset))
            }
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            FloatTensor(shape: outputShape, values: inputs[0].values.map { $0 * scale + offset })
        }
    }
}
