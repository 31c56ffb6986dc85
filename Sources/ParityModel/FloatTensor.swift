/// A float32 tensor in C order: what the engine computes with, and what callers pass in and get out.
public struct FloatTensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "values do not match shape \(shape)")
        self.shape = shape
        self.values = values
    }

    public var count: Int { values.count }

    /// The size of the last axis (1 for a scalar).
    public var lastDimension: Int { shape.last ?? 1 }
}

extension FloatTensor {
    /// The tensor with its axes reordered: axis `i` of the result is axis `order[i]` of this one (numpy's
    /// `transpose(order)`, TensorFlow's `perm`).
    public func transposed(_ order: [Int]) -> FloatTensor {
        precondition(order.sorted() == Array(shape.indices), "order \(order) is not a permutation of \(shape)")
        return ShapeKernels.transpose(self, axes: order)
    }
}
