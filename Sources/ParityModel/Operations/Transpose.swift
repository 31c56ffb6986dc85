/// The axes reordered, as `tf.transpose(x, perm)`: output axis `i` is input axis `perm[i]` (the batch axis counts;
/// Keras' `Permute` is the form that leaves it in place).
public struct Transpose: LayerOperation {
    public static let typeName = "transpose"
    public var perm: [Int]

    public init(perm: [Int]) { self.perm = perm }

    public func validate() throws(LayerProblem) {
        guard perm.count <= 64, Set(perm) == Set(0..<perm.count) else {
            throw .attribute("perm", perm, "must be a permutation of 0..<rank")
        }
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        guard let dims = inputs[0].aligned(toRank: perm.count) else {
            throw .inputShape(expected: "rank \(perm.count)", actual: "\(inputs[0])")
        }
        return ValueShape(perm.map { dims[$0] })
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(perm: perm)
    }

    struct Prepared: PreparedOperation {
        let perm: [Int]

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            let x = inputs[0]
            let rank = perm.count
            var inStrides = [Int](repeating: 1, count: rank)
            for axis in stride(from: rank - 2, through: 0, by: -1) {
                inStrides[axis] = inStrides[axis + 1] * x.shape[axis + 1]
            }
            // Walking the output in order, the input offset moves by the stride of the axis each output axis reads.
            let steps = perm.map { inStrides[$0] }
            var y = [Float](repeating: 0, count: x.count)
            var index = [Int](repeating: 0, count: rank)
            var source = 0
            x.values.withUnsafeBufferPointer { values in
                for i in 0..<y.count {
                    y[i] = values[source]
                    var axis = rank - 1
                    while axis >= 0 {
                        index[axis] += 1
                        source += steps[axis]
                        if index[axis] < outputShape[axis] { break }
                        source -= steps[axis] * index[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
            return FloatTensor(shape: outputShape, values: y)
        }
    }
}
