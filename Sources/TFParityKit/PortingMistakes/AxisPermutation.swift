import ParityModel

/// Axis permutations of C-ordered arrays: how kernels and images move between layouts.
enum AxisPermutation {
    /// `values` of `shape` with its axes reordered: axis `i` of the result is axis `order[i]` of the input
    /// (numpy's `transpose(order)`).
    static func transpose(_ values: [Float], shape: [Int], order: [Int]) -> (values: [Float], shape: [Int]) {
        precondition(order.sorted() == Array(shape.indices), "order \(order) is not a permutation of \(shape)")
        let outShape = order.map { shape[$0] }
        var inStrides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) {
            inStrides[axis] = inStrides[axis + 1] * shape[axis + 1]
        }
        let strides = order.map { inStrides[$0] }
        var out = [Float](repeating: 0, count: values.count)
        var index = [Int](repeating: 0, count: shape.count)
        var source = 0
        for target in 0..<values.count {
            out[target] = values[source]
            // Advance the output index like an odometer, keeping the source offset in step.
            var axis = outShape.count - 1
            while axis >= 0 {
                index[axis] += 1
                source += strides[axis]
                if index[axis] < outShape[axis] { break }
                source -= strides[axis] * outShape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return (out, outShape)
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
