/// Rows and columns removed from the edges of an NHWC input (attribute `cropping`: `[top, bottom, left, right]`), as
/// Keras' `Cropping2D`.
public struct Cropping2D: EdgeAmountOperation, SelfPreparedOperation {
    public static let attributeKey = "cropping"
    public static let typeName = "cropping2d"
    public var edges: EdgeAmounts

    public init(_ edges: EdgeAmounts) { self.edges = edges }

    public func extent(_ edge: EdgeAxis, input: ValueShape) throws(LayerProblem) -> Int {
        let removed = edge.before + edge.after  // validated amounts are at most `Limits.spatialExtent`: no overflow
        guard edge.size > removed else {
            throw .inputShape(
                expected: "a \(edge.name) above \(removed) to crop \(edge.before) + \(edge.after) \(edge.lines)",
                actual: "\(input)")
        }
        return edge.size - removed
    }

    public func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        ShapeKernels.place(inputs[0], into: outputShape, top: -top, left: -left)
    }
}
