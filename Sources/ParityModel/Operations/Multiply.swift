/// Elementwise product of every input (NumPy broadcasting).
public struct Multiply: BroadcastingMergeOperation {
    public static let typeName = "multiply"

    public init() {}

    public static func combine(_ a: Float, _ b: Float) -> Float { a * b }

    /// `|b|·b_a + |a|·b_b + b_a·b_b + u·|a·b|`: the product's exact first- and second-order terms.
    public static func combinedBound(a: Float, boundA: Float, b: Float, boundB: Float, result: Float, roundoff u: Float)
        -> Float
    { abs(b) * boundA + abs(a) * boundB + boundA * boundB + u * abs(result) }
}
