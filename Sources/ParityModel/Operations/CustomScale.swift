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
    }
}
