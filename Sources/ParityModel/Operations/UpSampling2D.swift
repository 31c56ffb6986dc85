import TensorCore

/// NHWC input enlarged `size = [sh, sw]` times, as Keras' `UpSampling2D`: `nearest` repeats each row and column
/// (what `ops.repeat`, and TensorFlow's nearest resize with half-pixel centres, give for integer factors);
/// `bilinear` is TensorFlow's `ResizeBilinear` with `half_pixel_centers`, as `tf.image.resize` calls it.
public struct UpSampling2D: SelfPreparedOperation {
    public static let typeName = "upsampling2d"

    public enum Interpolation: String, Sendable, Equatable, Codable {
        case nearest
        case bilinear
    }

    public var size: [Int]
    public var interpolation: Interpolation

    public init(size: [Int], interpolation: Interpolation = .nearest) {
        self.size = size
        self.interpolation = interpolation
    }

    public func validate() throws(LayerProblem) { try Attribute.positive("size", size) }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        var image = try ImageDims(inputs[0])
        func scaled(_ value: Int?, _ factor: Int) throws(LayerProblem) -> Int? {
            guard let value else { return nil }
            guard let product = Checked.product([value, factor]), product <= Limits.elements else {
                throw .tooLarge("the upsampled size \(value) × \(factor) is too large")
            }
            return product
        }
        image.height = try scaled(image.height, size[0])
        image.width = try scaled(image.width, size[1])
        try Checked.elementCount(image.shape.dims, "the output")
        return image.shape
    }

    public func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        switch interpolation {
        case .nearest: ImageKernels.repeatPixels(inputs[0], outputShape: outputShape)
        case .bilinear: ImageKernels.resizeBilinear(inputs[0], outputShape: outputShape)
        }
    }
}
