/// The elementwise minimum of every input (NumPy broadcasting); NaN wins, as in TensorFlow's `Minimum`.
public struct Minimum: LayerOperation {
    public static let typeName = "minimum"
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
            ShapeKernels.combine(inputs, outputShape: outputShape, Minimum.smaller)
        }
    }
}

extension Minimum {
    static func smaller(_ a: Float, _ b: Float) -> Float { a.isNaN || b.isNaN ? .nan : min(a, b) }
}
