/// Softmax over `axis` (negative counts from the end), as Keras' `Softmax` layer.
public struct Softmax: LayerOperation {
    public static let typeName = "softmax"
    public var axis: Int

    public init(axis: Int = -1) { self.axis = axis }

    public func validate() throws(LayerProblem) { try Attribute.plausibleAxis("axis", axis) }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        if let rank = inputs[0].rank { _ = try Attribute.axis("axis", axis, rank: rank) }
        return inputs[0]
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(axis: axis)
    }

    struct Prepared: PreparedOperation {
        let axis: Int

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            ShapeKernels.softmax(inputs[0], axis: axis < 0 ? axis + outputShape.count : axis)
        }
    }
}
