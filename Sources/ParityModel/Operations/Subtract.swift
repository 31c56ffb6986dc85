/// The first input minus the second (NumPy broadcasting), as Keras' `Subtract`.
public struct Subtract: BroadcastingMergeOperation {
    public static let typeName = "subtract"
    public static var inputCount: ClosedRange<Int> { 2...2 }

    public init() {}

    public static func combine(_ a: Float, _ b: Float) -> Float { a - b }

    public static func combinedBound(a: Float, boundA: Float, b: Float, boundB: Float, result: Float, roundoff u: Float)
        -> Float
    { Elementwise.Function.subtract.bound(a, boundA, b, boundB, result, u) }
}
