/// Elementwise sum of every input (NumPy broadcasting).
public struct Add: BroadcastingMergeOperation {
    public static let typeName = "add"

    public init() {}

    public static func combine(_ a: Float, _ b: Float) -> Float { a + b }

    /// `b_a + b_b + u·(|a| + |b|)`: the sum's rounding is relative to its operands, not to a result that cancels.
    public static func combinedBound(a: Float, boundA: Float, b: Float, boundB: Float, result: Float, roundoff u: Float)
        -> Float
    { boundA + boundB + u * (abs(a) + abs(b)) }
}
