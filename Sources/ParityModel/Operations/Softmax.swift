/// Softmax over `axis` (negative counts from the end), as Keras' `Softmax` layer.
public struct Softmax: SelfPreparedOperation {
    public static let typeName = "softmax"
    public var axis: Int

    public init(axis: Int = -1) { self.axis = axis }

    public func validate() throws(LayerProblem) { try Attribute.plausibleAxis("axis", axis) }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        if let rank = inputs[0].rank { _ = try Attribute.axis("axis", axis, rank: rank) }
        return inputs[0]
    }

    /// `yᵢ·(2·max b + c·u)` along the axis (`RoundingBound`).
    public func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
        -> [Float]
    {
        let shape = output.shape
        let a = axis < 0 ? axis + shape.count : axis
        let (size, inner) = (shape[a], shape[(a + 1)...].reduce(1, *))
        let outer = shape[..<a].reduce(1, *)
        let incoming = inputBounds?[0]
        var bound = [Float](repeating: 0, count: output.count)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * size * inner + i
                var largest: Float = 0
                if let incoming { for k in 0..<size { largest = max(largest, incoming[base + k * inner]) } }
                for k in 0..<size {
                    let y = output.values[base + k * inner]
                    bound[base + k * inner] = y * (2 * largest + RoundingBound.elementaryFunctionUlps * u)
                }
            }
        }
        return bound
    }

    public func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        ShapeKernels.softmax(inputs[0], axis: axis < 0 ? axis + outputShape.count : axis)
    }
}
