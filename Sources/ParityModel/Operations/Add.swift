/// Elementwise sum of every input (NumPy broadcasting).
public struct Add: BroadcastingMergeOperation {
    public static let typeName = "add"

    public init() {}

    public static let function = Elementwise.Function.add
}
