/// The first input minus the second (NumPy broadcasting), as Keras' `Subtract`.
public struct Subtract: BroadcastingMergeOperation {
    public static let typeName = "subtract"
    public static var inputCount: ClosedRange<Int> { 2...2 }

    public init() {}

    public static let function = Elementwise.Function.subtract
}
