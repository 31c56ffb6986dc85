/// Zeros added around the height and width axes of an NHWC input (attribute `padding`: `[top, bottom, left, right]`).
public struct ZeroPadding2D: EdgeAmountOperation, SelfPreparedOperation, ZeroPaddingKernel {
    public static let attributeKey = "padding"
    public static let typeName = "zero_padding2d"
    public var edges: EdgeAmounts

    public init(_ edges: EdgeAmounts) { self.edges = edges }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        var image = try ImageDims(inputs[0])
        if let height = image.height { image.height = try Checked.sum(height, top + bottom, "the padded height") }
        if let width = image.width { image.width = try Checked.sum(width, left + right, "the padded width") }
        try Checked.elementCount(image.shape.dims, "the output")
        return image.shape
    }

    public func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        ShapeKernels.place(inputs[0], into: outputShape, top: top, left: left)
    }
}
