/// Elementwise product of every input (NumPy broadcasting).
public struct Multiply: LayerOperation {
    public static let typeName = "multiply"
    public static var inputCount: ClosedRange<Int> { 1...1024 }

    public init() {}

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try ShapeKernels.broadcastShape(inputs)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared()
    }

    struct Prepared: PreparedOperation {
        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            ShapeKernels.combine(inputs, outputShape: outputShape, *)
        }
    }
}
