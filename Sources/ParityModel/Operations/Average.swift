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

        /// The mean of the inputs' bounds plus `k·u·mean|x|` for the `k − 1` additions and the division.
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            let magnitudes = inputs.map { FloatTensor(shape: $0.shape, values: $0.values.map { abs($0) }) }
            let mean = apply(magnitudes, outputShape: output.shape).values
            let moved = inputBounds.map { b in
                apply(zip(inputs, b).map { FloatTensor(shape: $0.shape, values: $1) }, outputShape: output.shape).values
            }
            let k = Float(inputs.count)
            return mean.indices.map { i in (moved?[i] ?? 0) + k * u * mean[i] }
        }
    }
}
