/// Mean over height and width: `[N, H, W, C]` → `[N, C]`, or `[N, 1, 1, C]` with `keepdims`.
public struct GlobalAveragePooling2D: GlobalPoolingOperation {
    public static let typeName = "global_average_pooling2d"
    public static let averages = true
    public var keepdims: Bool

    public init(keepdims: Bool = false) { self.keepdims = keepdims }
}

/// Maximum over height and width: `[N, H, W, C]` → `[N, C]`, or `[N, 1, 1, C]` with `keepdims`.
public struct GlobalMaxPooling2D: GlobalPoolingOperation {
    public static let typeName = "global_max_pooling2d"
    public static let averages = false
    public var keepdims: Bool

    public init(keepdims: Bool = false) { self.keepdims = keepdims }
}
