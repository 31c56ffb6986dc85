/// The elementwise maximum of every input (NumPy broadcasting); NaN wins, as in TensorFlow's `Maximum`.
public struct Maximum: BroadcastingMergeOperation {
    public static let typeName = "maximum"

    public init() {}

    public static let function = Elementwise.Function.maximum
}
