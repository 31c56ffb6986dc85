/// Zeros added around the height and width axes of an NHWC input (attribute `padding`: `[top, bottom, left, right]`).
public struct ZeroPadding2D: EdgeAmountOperation, SelfPreparedOperation, ZeroPaddingKernel {
    public static let attributeKey = "padding"
    public static let typeName = "zero_padding2d"
    public var edges: EdgeAmounts

    public init(_ edges: EdgeAmounts) { self.edges = edges }

    public func extent(_ edge: EdgeAxis, input: ValueShape) throws(LayerProblem) -> Int {
        try Checked.sum(edge.size, edge.before + edge.after, "the padded \(edge.name)")
    }

    public func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        ShapeKernels.place(inputs[0], into: outputShape, top: top, left: left)
    }
}
