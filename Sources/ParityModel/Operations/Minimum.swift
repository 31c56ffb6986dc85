/// The elementwise minimum of every input (NumPy broadcasting); NaN wins, as in TensorFlow's `Minimum`.
public struct Minimum: BroadcastingMergeOperation {
    public static let typeName = "minimum"

    public init() {}

    public static let function = Elementwise.Function.minimum
}
