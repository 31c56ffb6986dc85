/// The mean over `axes` (counting the batch axis; negative counts from the end), as `tf.math.reduce_mean`: the
/// reduced axes dropped, or kept as size 1 with `keepdims`. No `axes` (nil) reduces every axis; an empty list none.
public struct ReduceMean: SelfPreparedOperation {
    public static let typeName = "reduce_mean"
    public var axes: [Int]?
    public var keepdims: Bool

    public init(axes: [Int]?, keepdims: Bool = false) {
        self.axes = axes
        self.keepdims = keepdims
    }

    public func validate() throws(LayerProblem) {
        guard let axes else { return }
        guard axes.count <= 64 else { throw .attribute("axes", axes, "lists more than 64 axes") }
        for axis in axes { try Attribute.plausibleAxis("axes", axis) }
    }

    /// `axes` as 0-based axes of a rank-`rank` value, each once.
    func normalisedAxes(rank: Int) throws(LayerProblem) -> Set<Int> {
        guard let axes else { return Set(0..<rank) }
        var result: Set<Int> = []
        for axis in axes {
            guard result.insert(try Attribute.axis("axes", axis, rank: rank)).inserted else {
                throw .attribute("axes", axes, "names an axis twice")
            }
        }
        return result
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let x = inputs[0]
        guard let rank = x.rank else { return .unknown }
        let reduced = try normalisedAxes(rank: rank)
        var dims: [Int?] = []
        for (axis, size) in x.dims.enumerated() {
            if reduced.contains(axis) {
                if keepdims { dims.append(1) }
            } else {
                dims.append(size)
            }
        }
        return ValueShape(dims)
    }

    /// The mean of the incoming bounds plus `λ·√k·u·mean(|x|)`, `k` the reduced count (`RoundingBound`).
    public func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
        -> [Float]
    {
        let x = inputs[0]
        let k = max(1, x.count / max(output.count, 1))
        let magnitude = apply(
            [FloatTensor(shape: x.shape, values: x.values.map { abs($0) })], outputShape: output.shape)
        let moved = inputBounds.map { apply([FloatTensor(shape: x.shape, values: $0[0])], outputShape: output.shape) }
        let factor = RoundingBound.lambda * Float(k).squareRoot() * u
        return (0..<output.count).map { i in (moved?.values[i] ?? 0) + factor * magnitude.values[i] }
    }

    public func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        let x = inputs[0]
        let rank = x.shape.count
        guard let reduced = try? normalisedAxes(rank: rank) else {
            preconditionFailure("reduce_mean axes were checked by outputShape")
        }
        // Each input element adds into the output element its kept coordinates give.
        var outStrides = [Int](repeating: 0, count: rank)
        var step = 1
        for axis in stride(from: rank - 1, through: 0, by: -1) where !reduced.contains(axis) {
            outStrides[axis] = step
            step *= x.shape[axis]
        }
        let count = outputShape.reduce(1, *)
        var sums = [Double](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        var target = 0
        x.values.withUnsafeBufferPointer { values in
            for value in values {
                sums[target] += Double(value)
                var axis = rank - 1
                while axis >= 0 {
                    index[axis] += 1
                    target += outStrides[axis]
                    if index[axis] < x.shape[axis] { break }
                    target -= outStrides[axis] * index[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
        let n = Double(x.count / Swift.max(count, 1))
        return FloatTensor(shape: outputShape, values: sums.map { Float($0 / n) })
    }
}
