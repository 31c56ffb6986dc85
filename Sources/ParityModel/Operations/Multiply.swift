/// Elementwise product of every input (NumPy broadcasting).
public struct Multiply: BroadcastingMergeOperation {
    public static let typeName = "multiply"

    public init() {}

    public static func combine(_ a: Float, _ b: Float) -> Float { a * b }
}
