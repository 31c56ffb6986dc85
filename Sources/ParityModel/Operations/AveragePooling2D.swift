/// Average pooling over height and width of an NHWC input; with `same` padding each window divides by its count of
/// real (unpadded) elements, as TensorFlow's `avg_pool`.
public struct AveragePooling2D: WindowPoolingOperation {
    public static let typeName = "average_pooling2d"
    public static let averages = true
    public var pooling: Pooling2D

    public init(_ pooling: Pooling2D) { self.pooling = pooling }
}
