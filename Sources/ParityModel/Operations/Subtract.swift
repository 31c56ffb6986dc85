/// The first input minus the second (NumPy broadcasting), as Keras' `Subtract`.
public struct Subtract: LayerOperation {
    public static let typeName = "subtract"
    public static var inputCount: ClosedRange<Int> { 2...2 }

    public init() {}

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try ShapeKernels.broadcastShape(inputs)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared()
    }

    struct Prepared: PreparedOperation {
        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            ShapeKernels.combine(inputs, outputShape: outputShape, -)
        }

        /// As a sum's: the operands' bounds added, plus `u` of the operands (`RoundingBound`).
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            Elementwise.Prepared(function: .subtract, constant: nil, constantFirst: false)
                .roundingBound(inputs, inputBounds: inputBounds, output: output, roundoff: u)
        }
    }
}
