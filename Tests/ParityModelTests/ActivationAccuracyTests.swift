import Foundation
import ParityModel
import TensorCore
import Testing

/// The vectorised activations (`sigmoid`, `swish`, GELU) against float64 references over a sweep of float32 inputs:
/// the verdict allows two implementations of an elementary function `RoundingBound.elementaryFunctionUlps · u · |y|`
/// apart (plus `4 · 8 · u` on GELU's negative side, where `1 + erf` cancels), so the engine's own error must stay
/// well inside it — here at most half, leaving the other half to TensorFlow's.
@Suite struct ActivationAccuracyTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var activation: Activation
        /// The exact value, in float64.
        var exact: @Sendable (Double) -> Double
        /// The absolute part of the verdict's allowance for an exact value (`RoundingBound.negativeTailScale`).
        var tail: @Sendable (Double) -> Double
        var testDescription: String { activation.name }
    }

    static let u = Double(Float(0x1p-24))

    static let cases: [Case] = [
        Case(activation: .sigmoid, exact: { 1 / (1 + Foundation.exp(-$0)) }, tail: { _ in 0 }),
        Case(activation: .swish, exact: { $0 / (1 + Foundation.exp(-$0)) }, tail: { _ in 0 }),
        Case(
            activation: .gelu, exact: { 0.5 * $0 * Foundation.erfc(-$0 / 2.0.squareRoot()) },
            tail: { $0 < 0 ? 4 * 8 * u : 0 }),
    ]

    /// Runs `activation` on `x` through the engine (an activation layer: the same kernel a fused layer runs).
    static func apply(_ activation: Activation, _ x: [Float]) throws -> [Float] {
        let model = Model(
            layers: [Layer(name: "a", op: ActivationLayer(activation), inputs: [Model.inputName])], parameters: [:])
        return try Engine(model: model, matrixProduct: .portable).run(FloatTensor(shape: [x.count], values: x)).values
    }

    @Test(arguments: cases)
    func staysWithinHalfTheVerdictsAllowance(_ c: Case) throws {
        // Every 2^12-th bit pattern of the finite float32 values below 200 in magnitude (a million inputs, both signs,
        // every binade down to the subnormals), then a window of consecutive values around 1.
        var x: [Float] = []
        for bits in stride(from: UInt32(0), to: UInt32.max, by: 1 << 12) {
            let value = Float(bitPattern: bits)
            if value.isFinite, abs(value) < 200 { x.append(value) }
        }
        var value: Float = 0.75
        for _ in 0..<100_000 {
            x.append(value)
            x.append(-value)
            value = value.nextUp
        }
        let y = try Self.apply(c.activation, x)
        var worst = 0.0
        var worstInput: Float = 0
        for i in x.indices {
            let exact = c.exact(Double(x[i]))
            let allowed =
                Double(RoundingBound.elementaryFunctionUlps) * Self.u * abs(exact) + c.tail(exact)
                + Double(RoundingBound.absoluteFloor)
            let used = abs(Double(y[i]) - exact) / allowed
            if used > worst { (worst, worstInput) = (used, x[i]) }
        }
        #expect(worst <= 0.5, "\(c.activation.name) uses \(worst) of the allowance at \(worstInput)")
    }

    /// What the C library's formula gives at the edges (NaN, infinities, signed zeros, past the exponent's range),
    /// the vectorised kernels give too.
    @Test(arguments: cases)
    func edgesAreTheScalarFormulas(_ c: Case) throws {
        let x: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 1000, -1000, 89.5, -89.5, -88.9, 1e-30, -1e-30]
        let y = try Self.apply(c.activation, x)
        for (input, output) in zip(x, y) {
            let expected: Float
            switch c.activation {
            case .sigmoid: expected = input < -89 ? 0 : 1 / (1 + Foundation.exp(-input))
            case .swish: expected = input * (input < -89 ? 0 : 1 / (1 + Foundation.exp(-input)))
            default: expected = 0.5 * input * Foundation.erfc(-input * 0.7071067811865476)
            }
            if expected.isNaN {
                #expect(output.isNaN, "\(c.activation.name)(\(input))")
            } else if expected.isInfinite {
                #expect(output == expected, "\(c.activation.name)(\(input))")
            } else {
                #expect(
                    abs(Double(output) - Double(expected)) <= 8 * Self.u * abs(Double(expected)) + 1e-30,
                    "\(c.activation.name)(\(input)) = \(output), expected \(expected)")
            }
        }
    }
}
