/// Max pooling over height and width of an NHWC input; padded positions never win.
public struct MaxPooling2D: WindowPoolingOperation {
    public static let typeName = "max_pooling2d"
    public static let averages = false
    public var pooling: Pooling2D

    public init(_ pooling: Pooling2D) { self.pooling = pooling }
}
