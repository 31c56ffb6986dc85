import ParityModel

/// A flatten in channels-first order (`[N, H, W, C]` → the `[N, C·H·W]` that `x.permute(0, 3, 1, 2).flatten(1)`
/// gives): what a PyTorch port computes for Keras' `Flatten`. Only the `flatten-order` variant builds it; no model
/// file names it.
struct ChannelsFirstFlatten: LayerOperation {
    static let typeName = "channels_first_flatten"

    func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        guard let dims = inputs[0].aligned(toRank: 4) else {
            throw .inputShape(expected: "[N, H, W, C]", actual: "\(inputs[0])")
        }
        let rest = dims[1...].compactMap { $0 }
        return ValueShape([dims[0], rest.count == 3 ? Checked.product(rest) : nil])
    }

    func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation { Prepared() }

    struct Prepared: PreparedOperation {
        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            let x = inputs[0]
            let values = AxisPermutation.transpose(x.values, shape: x.shape, order: [0, 3, 1, 2]).values
            return FloatTensor(shape: outputShape, values: values)
        }
    }
}
