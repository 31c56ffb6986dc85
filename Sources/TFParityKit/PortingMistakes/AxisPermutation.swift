import ParityModel

/// Axis permutations of C-ordered arrays: how kernels and images move between layouts.
enum AxisPermutation {
    /// `values` of `shape` with its axes reordered: axis `i` of the result is axis `order[i]` of the input
    /// (numpy's `transpose(order)`).
    static func transpose(_ values: [Float], shape: [Int], order: [Int]) -> (values: [Float], shape: [Int]) {
        let transposed = FloatTensor(shape: shape, values: values).transposed(order)
        return (transposed.values, transposed.shape)
    }

    /// The order that undoes `order`.
    static func inverse(_ order: [Int]) -> [Int] {
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, axis) in order.enumerated() { inverse[axis] = i }
        return inverse
    }

    /// An `[N, C, H, W]` value as `[N, H, W, C]`.
    static func channelsLast(_ value: FloatTensor) -> FloatTensor {
        let (values, shape) = transpose(value.values, shape: value.shape, order: [0, 2, 3, 1])
        return FloatTensor(shape: shape, values: values)
    }
}
