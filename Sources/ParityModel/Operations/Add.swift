/// Elementwise sum of every input (NumPy broadcasting).
public struct Add: BroadcastingMergeOperation {
    public static let typeName = "add"

    public init() {}

    public static func combine(_ a: Float, _ b: Float) -> Float { a + b }
}
