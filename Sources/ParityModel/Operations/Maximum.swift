/// The elementwise maximum of every input (NumPy broadcasting); NaN wins, as in TensorFlow's `Maximum`.
public struct Maximum: LayerOperation {
    public static let typeName = "maximum"
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
            ShapeKernels.combine(inputs, outputShape: outputShape, Maximum.larger)
        }
    }
}

extension Maximum {
    static func larger(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : max(a, b) }
}
