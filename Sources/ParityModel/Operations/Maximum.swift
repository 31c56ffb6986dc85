/// The elementwise maximum of every input (NumPy broadcasting); NaN wins, as in TensorFlow's `Maximum`.
public struct Maximum: BroadcastingMergeOperation {
    public static let typeName = "maximum"

    public init() {}

    public static func combine(_ a: Float, _ b: Float) -> Float { Elementwise.Function.maximum.apply(a, b) }

    public static func combinedBound(a: Float, boundA: Float, b: Float, boundB: Float, result: Float, roundoff u: Float)
        -> Float
    { Elementwise.Function.maximum.bound(a, boundA, b, boundB, result, u) }
}
