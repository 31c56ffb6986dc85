/// Inputs joined along `axis` (counting the batch axis; negative counts from the end).
public struct Concatenate: LayerOperation {
    public static let typeName = "concatenate"
    public static var inputCount: ClosedRange<Int> { 1...1024 }
    public var axis: Int

    public init(axis: Int = -1) { self.axis = axis }

    public func validate() throws(LayerProblem) { try Attribute.plausibleAxis("axis", axis) }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let first = inputs[0]
        guard let rank = inputs.lazy.compactMap(\.rank).first else { return ValueShape.unknown }
        let a = try Attribute.axis("axis", axis, rank: rank)
        var dims = [Int?](repeating: nil, count: rank)
        var total: Int? = 0
        for input in inputs {
            guard let aligned = input.aligned(toRank: rank) else {
                throw .inputShape(expected: "rank \(rank) like the other inputs", actual: "\(input)")
            }
            for i in 0..<rank where i != a {
                if let known = aligned[i] {
                    if let existing = dims[i], existing != known {
                        throw .inputShape(expected: "\(first) except on axis \(axis)", actual: "\(input)")
                    }
                    dims[i] = known
                }
            }
            if let size = aligned[a], let sum = total {
                total = try Checked.sum(sum, size, "the joined axis")
            } else {
                total = nil
            }
        }
        dims[a] = total
        try Checked.elementCount(dims, "the output")
        return ValueShape(dims)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(axis: axis)
    }

    struct Prepared: PreparedOperation {
        let axis: Int

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            ShapeKernels.concatenate(inputs, axis: axis < 0 ? axis + outputShape.count : axis, outputShape: outputShape)
        }
    }
}
