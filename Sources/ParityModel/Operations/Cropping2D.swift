/// Rows and columns removed from the edges of an NHWC input (attribute `cropping`: `[top, bottom, left, right]`), as
/// Keras' `Cropping2D`.
public struct Cropping2D: EdgeAmountOperation, SelfPreparedOperation {
    public static let attributeKey = "cropping"
    public static let typeName = "cropping2d"
    public var edges: EdgeAmounts

    public init(_ edges: EdgeAmounts) { self.edges = edges }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        var image = try ImageDims(inputs[0])
        // Validated amounts are at most `Limits.spatialExtent`: the sums cannot overflow.
        if let height = image.height {
            guard height > top + bottom else {
                throw .inputShape(
                    expected: "a height above \(top + bottom) to crop \(top) + \(bottom) rows", actual: "\(inputs[0])")
            }
            image.height = height - top - bottom
        }
        if let width = image.width {
            guard width > left + right else {
                throw .inputShape(
                    expected: "a width above \(left + right) to crop \(left) + \(right) columns", actual: "\(inputs[0])"
                )
            }
            image.width = width - left - right
        }
        return image.shape
    }

    public func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        ShapeKernels.place(inputs[0], into: outputShape, top: -top, left: -left)
    }
}
