/// `[N, …]` → `[N, product]`, in C (NHWC) order.
public struct Flatten: LayerOperation {
    public static let typeName = "flatten"

    public init() {}

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let x = inputs[0]
        guard x.rank != 0 else { throw .inputShape(expected: "[N, …]", actual: "\(x)") }
        guard x.rankKnown else { return ValueShape([nil, nil]) }
        let rest = x.dims.dropFirst()
        let known = rest.compactMap { $0 }
        return ValueShape([x.dims[0], known.count == rest.count ? Checked.product(known) : nil])
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Reshaped()
    }
}

/// The input's values under the output shape.
struct Reshaped: PreparedOperation {
    func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        FloatTensor(shape: outputShape, values: inputs[0].values)
    }
}
