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
            ShapeKernels.transpose(inputs[0], axes: perm)
        }
    }
}
