/// The elementwise minimum of every input (NumPy broadcasting); NaN wins, as in TensorFlow's `Minimum`.
public struct Minimum: BroadcastingMergeOperation {
    public static let typeName = "minimum"

    public init() {}

    public static func combine(_ a: Float, _ b: Float) -> Float { Elementwise.Function.minimum.apply(a, b) }

    public static func combinedBound(a: Float, boundA: Float, b: Float, boundB: Float, result: Float, roundoff u: Float)
        -> Float
    { Elementwise.Function.minimum.bound(a, boundA, b, boundB, result, u) }
}
