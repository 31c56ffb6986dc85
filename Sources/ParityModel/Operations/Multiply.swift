/// Elementwise product of every input (NumPy broadcasting).
public struct Multiply: BroadcastingMergeOperation {
    public static let typeName = "multiply"

    public init() {}

    public static let function = Elementwise.Function.multiply
}
