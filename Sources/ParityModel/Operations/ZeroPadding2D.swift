/// Zeros added around the height and width axes of an NHWC input (attribute `padding`: `[top, bottom, left, right]`).
public struct ZeroPadding2D: LayerOperation {
    public static let typeName = "zero_padding2d"
    public var top: Int
    public var bottom: Int
    public var left: Int
    public var right: Int

    public init(top: Int, bottom: Int, left: Int, right: Int) {
        (self.top, self.bottom, self.left, self.right) = (top, bottom, left, right)
    }

    public func validate() throws(LayerProblem) {
        try Attribute.nonNegative("padding", [top, bottom, left, right], count: 4)
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        var image = try ImageDims(inputs[0])
        if let height = image.height { image.height = try Checked.sum(height, top + bottom, "the padded height") }
        if let width = image.width { image.width = try Checked.sum(width, left + right, "the padded width") }
        try Checked.elementCount(image.shape.dims, "the output")
        return image.shape
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared(padding: self)
    }

    struct Prepared: PreparedOperation {
        let padding: ZeroPadding2D

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            ShapeKernels.place(inputs[0], into: outputShape, top: padding.top, left: padding.left)
        }
    }

    enum CodingKeys: String, CodingKey { case padding }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let values = try container.decode([Int].self, forKey: .padding)
        guard values.count == 4 else {
            throw DecodingError.dataCorruptedError(
                forKey: .padding, in: container, debugDescription: "needs [top, bottom, left, right]")
        }
        self.init(top: values[0], bottom: values[1], left: values[2], right: values[3])
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode([top, bottom, left, right], forKey: .padding)
    }
}
