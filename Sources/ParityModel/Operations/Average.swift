/// The mean of every input (NumPy broadcasting), as Keras' `Average`: the inputs summed left to right, then divided
/// by their number.
public struct Average: LayerOperation {
    public static let typeName = "average"
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
            var y = ShapeKernels.combine(inputs, outputShape: outputShape, +)
            let count = Float(inputs.count)
            for i in y.values.indices { y.values[i] /= count }
            return y
        }
    }
}
