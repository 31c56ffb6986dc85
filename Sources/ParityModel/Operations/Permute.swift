/// The non-batch axes reordered: output axis `i` (1-based, after the batch) is input axis `dims[i - 1]`, as Keras'
/// `Permute`.
public struct Permute: LayerOperation {
    public static let typeName = "permute"
    public var dims: [Int]

    public init(dims: [Int]) { self.dims = dims }

    public func validate() throws(LayerProblem) {
        guard dims.count <= 63, dims.sorted() == Array(stride(from: 1, through: dims.count, by: 1)) else {
            throw .attribute("dims", dims, "must be a permutation of 1…\(dims.count)")
        }
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let rank = dims.count + 1
        guard let x = inputs[0].aligned(toRank: rank) else {
            throw .inputShape(expected: "rank \(rank) ([N] and \(dims.count) axes to permute)", actual: "\(inputs[0])")
        }
        return ValueShape([x[0]] + dims.map { x[$0] })
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(axes: [0] + dims)
    }

    struct Prepared: PreparedOperation {
        let axes: [Int]

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            ShapeKernels.transpose(inputs[0], axes: axes)
        }
    }
}
