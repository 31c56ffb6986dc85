/// Average pooling over height and width of an NHWC input; with `same` padding each window divides by its count of
/// real (unpadded) elements, as TensorFlow's `avg_pool`.
public struct AveragePooling2D: LayerOperation {
    public static let typeName = "average_pooling2d"
    public var pooling: Pooling2D

    public init(_ pooling: Pooling2D) { self.pooling = pooling }

    public func validate() throws(LayerProblem) { try pooling.validate() }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try pooling.outputShape(inputs[0])
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(pooling: pooling)
    }

    struct Prepared: PreparedOperation {
        let pooling: Pooling2D

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            ImageKernels.pool2D(inputs[0], pooling, average: true, outputShape: outputShape)
        }
    }

    public init(from decoder: any Decoder) throws { pooling = try Pooling2D(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try pooling.encode(to: encoder) }
}
