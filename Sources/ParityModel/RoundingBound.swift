import Foundation

/// The arithmetic a layer computes in, and its unit roundoff `u` (half the distance from 1 to the next number).
public enum Precision: String, Sendable, Equatable, Codable, CaseIterable {
    case float32
    case float16
    case bfloat16

    /// `u = 2^-p` for a `p`-bit significand: 2⁻²⁴ (float32), 2⁻¹¹ (float16), 2⁻⁸ (bfloat16).
    public var unitRoundoff: Float {
        switch self {
        case .float32: 0x1p-24
        case .float16: 0x1p-11
        case .bfloat16: 0x1p-8
        }
    }
}

/// The bound on the rounding difference two correct implementations of a layer may have, element by element.
///
/// A dot product of `n` terms computed in floating point with unit roundoff `u` satisfies
/// `|fl(Σ aᵢbᵢ) − Σ aᵢbᵢ| ≤ γₙ Σ|aᵢbᵢ|`, `γₙ = n·u/(1 − n·u)` (Higham, *Accuracy and Stability of Numerical
/// Algorithms*, §3.1), whatever the summation order. That worst case grows with `n`; the rounding errors of a real
/// sum are independent enough that, with probability at least `1 − 2·exp(−λ²/2)`, the error stays below
/// `λ·√n·u·Σ|aᵢbᵢ|` (Higham and Mary, *A New Approach to Probabilistic Rounding Error Analysis*, SIAM J. Sci.
/// Comput. 41(5), 2019, Theorem 2.4). Two correct implementations (TensorFlow's oneDNN or Eigen kernels, our
/// blocked GEMM or OpenBLAS) can each land anywhere inside it, so their difference is bounded by
/// `√2·λ·√n·u·Σ|aᵢbᵢ|` for independent errors. With `λ = lambda` (6: a failure probability of 3·10⁻⁸ per element, so
/// millions of elements still pass) the per-layer bounds are:
///
/// - dense and convolution: `√2·λ·√n·u·(|W|·|x|)`, `n` the terms per output (`in`, `kh·kw·in`), plus `|W|·b` for an
///   incoming bound `b` (the first-order forward error: the layer's `|Jacobian|` applied to it), plus `u·|bias|` for
///   the bias add; the activation after it scales all of that by its largest slope;
/// - batch normalisation `y = x·s + o`: `|s|·b + u·(8|x·s| + 4|o| + 8|mean·s|)` (the scale's own roundings, with
///   `rsqrt` accurate to a few ulps in optimised kernels, the multiply-add, and the cancellation that separates the
///   `x·s + (beta − mean·s)` and `(x − mean)·s + beta` formulations);
/// - elementwise activations: `slope·b + c·u·|y|`, `c = elementaryFunctionUlps` for exp/tanh/erf-based ones (their
///   library implementations are accurate to a few ulps, not to ½), 1 for piecewise-linear ones; softmax
///   `min(y·(e^(2·max b) − 1) + c·u·y, 1)` over its row;
/// - averages over `k` values: the mean of `b` plus `λ·√k·u·mean(|x|)`; sums of inputs: `Σb + (k−1)·u·Σ|x|`;
///   products: `|y|·(b_a/|a| + b_b/|b|)` in its exact form `|b|·b_a + |a|·b_b + b_a·b_b`, plus `u·|y|`;
/// - layers that only move values (padding, cropping, reshaping, concatenation) or pick one (max pooling) pass `b`
///   through the same movement (max pooling: the largest `b` in the window).
///
/// An element then passes when `|actual − expected| ≤ bound + absoluteFloor` (the floor covers denormal results,
/// where `u` is not the relative spacing).
public enum RoundingBound {
    /// The probabilistic bound's `λ`.
    public static let lambda: Float = 6
    /// Ulps of error allowed for an elementary function (`exp`, `tanh`, `erf`, `log1p`) in either implementation.
    public static let elementaryFunctionUlps: Float = 8
    /// An absolute allowance under everything, 2⁻¹⁰⁰ (8·10⁻³¹): far below any value that matters, it covers results
    /// so small that relative spacing no longer describes the arithmetic — denormals, and the far tails of `exp` and
    /// `sigmoid` (swish of −70 is 10⁻²⁹), where vectorised kernels lose relative accuracy or flush intermediates.
    public static let absoluteFloor: Float = 0x1p-100

    /// `√2·λ·√n·u`: the factor on `Σ|aᵢbᵢ|` for a sum of `n` products.
    public static func dotProductFactor(terms n: Int, roundoff u: Float) -> Float {
        Float(2).squareRoot() * lambda * Float(n).squareRoot() * u
    }

    /// `|x|`: `x` itself when no element is negative (most inputs, coming from a ReLU), else a copy without signs.
    static func magnitudes(_ x: [Float]) -> [Float] {
        x.contains { !($0 >= 0) } ? x.map { abs($0) } : x
    }

    /// `|x|` for a tensor.
    static func magnitudes(_ x: FloatTensor) -> FloatTensor {
        FloatTensor(shape: x.shape, values: magnitudes(x.values))
    }

    /// `v[i] *= factor`: the dot-product factor applied to `|W|·|x|` after the product (one pass over the output
    /// instead of a scaled copy of the input).
    static func scale(_ v: inout [Float], by factor: Float) {
        v.withUnsafeMutableBufferPointer { v in for i in v.indices { v[i] *= factor } }
    }

    /// `bound[i] = slope · bound[i] + ulps·u·|y[i]|`.
    static func activate(_ bound: inout [Float], _ activation: Activation, output y: [Float], roundoff u: Float) {
        let slope = activation.largestSlope
        // `u·|y|` even for the exact functions: fused into a dense or convolution it stands for the bias add's own
        // rounding, which the dot product's bound does not cover.
        let ulps = activation.isPiecewiseLinear ? 1 : elementaryFunctionUlps
        let tail = ulps * u * activation.negativeTailScale
        let scale = ulps * u
        // Through buffers, so the loop has no bounds checks and vectorises.
        bound.withUnsafeMutableBufferPointer { bound in
            y.withUnsafeBufferPointer { y in
                precondition(y.count >= bound.count, "a bound for every output element")
                for i in 0..<bound.count { bound[i] = slope * bound[i] + scale * abs(y[i]) + (y[i] < 0 ? tail : 0) }
            }
        }
    }
}

extension Activation {
    /// The largest `|f′(x)|` over all `x` (the activation's Lipschitz constant), for propagating bounds.
    var largestSlope: Float {
        switch self {
        case .linear, .relu, .relu6, .tanh, .softsign, .softplus: 1
        case .elu(let alpha): max(1, abs(alpha))
        case .selu: 1.0507009873554805 * 1.6732632423543772
        case .sigmoid: 0.25
        case .softmax: 1
        case .leakyRelu(let alpha): max(1, abs(alpha))
        case .hardSigmoid: 1.0 / 6
        case .hardSigmoidKeras2: 0.2
        case .swish: 1.1
        case .gelu, .geluApproximate: 1.13
        case .hardSilu: 1.5
        case .mish: 1.1
        case .celu, .hardShrink, .hardTanh, .logSigmoid, .softShrink, .sparsePlus, .squareplus, .tanhShrink: 1
        case .sparseSigmoid: 0.5
        // Computed along the row by `roundingBound` (the slope form does not fit them).
        case .logSoftmax, .sparsemax, .glu: 1
        // Unbounded: the bound uses the output's own magnitude (d/dx eˣ = eˣ), see `roundingBound`.
        case .exponential: .infinity
        }
    }

    /// The absolute rounding of the negative side, where the result is a difference near cancellation: TensorFlow's
    /// ELU is `exp(x) − 1` (not `expm1`), so its error there is `u·alpha`, not `u·|y|`; GELU's `1 + erf(x/√2)`
    /// cancels likewise (scaled by `|x|/2`, taken up to 8).
    var negativeTailScale: Float {
        switch self {
        case .elu(let alpha): abs(alpha)
        case .selu: 1.0507009873554805 * 1.6732632423543772
        case .gelu, .geluApproximate: 4
        case .celu(let alpha): abs(alpha)
        default: 0
        }
    }

    /// Functions that round nothing: each result is one of the input, a constant or a clip bound (`max(x, 0)`,
    /// `min(max(x, 0), 6)`, `x` or `0`), the same in every correct implementation.
    var isExact: Bool {
        switch self {
        case .linear, .relu, .relu6, .hardTanh, .hardShrink: true
        default: false
        }
    }

    var isPiecewiseLinear: Bool {
        switch self {
        case .linear, .relu, .relu6, .leakyRelu, .hardSigmoid, .hardSigmoidKeras2, .hardTanh, .hardShrink, .softShrink,
            .sparseSigmoid:
            true
        default: false
        }
    }

    /// The bound after this activation, from the bound before it (`bound`, in place) and the output `y`.
    func roundingBound(_ bound: inout [Float], output y: [Float], lastDimension: Int, roundoff u: Float) {
        switch self {
        case .softmax:
            // With |Δzⱼ| ≤ b over the row, every ratio yᵢ'/yᵢ = e^(Δzᵢ) / Σⱼ yⱼe^(Δzⱼ) lies in [e^(−2b), e^(2b)]:
            // |Δyᵢ| ≤ yᵢ·(e^(2b) − 1), which is 2·yᵢ·b to first order, and never more than 1 (both lie in [0, 1]).
            // Not first order only: through a network that amplifies its rounding (a randomly initialised
            // EfficientNet) b reaches 10⁶, where a saturated softmax may flip from 0 to 1. A 0 stands for anything
            // below the smallest subnormal, 2⁻¹⁴⁹, which e^(2b) can raise as well.
            guard lastDimension > 0 else { return }
            let ulps = RoundingBound.elementaryFunctionUlps
            for start in stride(from: 0, to: y.count, by: lastDimension) {
                let end = start + lastDimension
                let growth = Foundation.expm1(2 * (bound[start..<end].max() ?? 0))
                for i in start..<end {
                    let reach = growth == 0 ? 0 : Swift.max(y[i], .leastNonzeroMagnitude) * growth
                    bound[i] = Swift.min(reach + ulps * u * y[i], 1)
                }
            }
        case .logSoftmax, .sparsemax:
            // yᵢ = zᵢ − f(z) with f 1-Lipschitz in the max norm (logsumexp; sparsemax's threshold): |Δyᵢ| ≤ bᵢ + max b,
            // plus rounding of values of order log(n).
            guard lastDimension > 0 else { return }
            for start in stride(from: 0, to: y.count, by: lastDimension) {
                let end = start + lastDimension
                let largest = bound[start..<end].max() ?? 0
                for i in start..<end {
                    bound[i] = bound[i] + largest + RoundingBound.elementaryFunctionUlps * u * (abs(y[i]) + 1)
                }
            }
        case .exponential:
            for i in bound.indices {
                bound[i] = abs(y[i]) * (Foundation.expm1(bound[i]) + RoundingBound.elementaryFunctionUlps * u)
            }
        case .sigmoid, .tanh:
            // The largest slope over the interval the input may lie in, [z − b, z + b], with z recovered from the
            // value (a float32 sigmoid of 1 means z ≥ 17, a tanh of ±1 |z| ≥ 9): a saturated sigmoid passes almost
            // nothing of its input's bound on, where its largest slope anywhere (¼) would pass it all.
            let ulps = RoundingBound.elementaryFunctionUlps
            for i in bound.indices {
                let slope: Float
                if self == .sigmoid {
                    let v = min(max(y[i], 0), 1)
                    let z = v <= 0 || v >= 1 ? 17 : abs(Foundation.log(v / (1 - v)))
                    let s = 1 / (1 + Foundation.exp(max(z - bound[i], 0)))
                    slope = s * (1 - s)
                } else {
                    let v = min(abs(y[i]), 1)
                    let z = v >= 1 ? 9 : Foundation.atanh(v)
                    let t = Foundation.tanh(max(z - bound[i], 0))
                    slope = 1 - t * t
                }
                // Two sigmoids differ by at most 1, two tanh values by 2, whatever their inputs.
                bound[i] = min(slope * bound[i] + ulps * u * abs(y[i]), self == .sigmoid ? 1 : 2)
            }
        default:
            RoundingBound.activate(&bound, self, output: y, roundoff: u)
        }
    }
}

/// `|W|` and `W²` packed like `W`, made each time a bound needs them and dropped after it: a verify evaluates each
/// layer's bound about once (the local checks re-run a layer or two from recorded values, the end-to-end trace each
/// layer once), so keeping them would buy nothing and hold two more copies of every weight matrix for the whole run
/// (196 MiB of a ResNet50 verify's peak). The fixed rule never makes them.
struct AbsoluteMatrix: Sendable {
    /// `W` as the product keeps it: its plain values are read from it (`PackedMatrix.plainValues`) when a bound is
    /// made, so the layer holds one copy of its weights whatever form the product keeps them in.
    private let packed: PackedMatrix
    private let product: MatrixProduct

    /// `w` packed for the product, and the bound's view of the same packed matrix.
    static func packing(_ w: [Float], inner: Int, columns: Int, product: MatrixProduct) -> (PackedMatrix, Self) {
        let packed = PackedMatrix(w, inner: inner, columns: columns, product: product)
        return (packed, Self(packed: packed, product: product))
    }

    /// `|W|`.
    var matrix: PackedMatrix { derived { abs($0) } }
    /// `W²`.
    var squared: PackedMatrix { derived { $0 * $0 } }

    private func derived(_ transform: (Float) -> Float) -> PackedMatrix {
        PackedMatrix(
            packed.plainValues.map(transform), inner: packed.inner, columns: packed.columns, product: product)
    }
}

extension RoundingBound {
    /// The incoming bounds' contribution to a sum over `W`, combined as independent errors: `c·√(W²·b²)`. The
    /// first-order worst case `|W|·b` compounds over a deep network until it says nothing (it overflows float32 in
    /// ResNet50), while the errors of two implementations are not aligned with the weights' signs. Any `c > 1`
    /// compounds too (`cᴸ` over `L` layers): `c = propagationFactor = 1`, the bounds themselves standing in for the
    /// errors' scale.
    static let propagationFactor: Float = 1

    /// `b²` element by element (for the root-sum-square propagation).
    static func squares(_ b: [Float]) -> [Float] { b.map { $0 * $0 } }

    /// `c·√v` element by element, added to `bound`.
    static func addRootSumSquare(_ bound: inout [Float], _ sumOfSquares: [Float]) {
        for i in bound.indices { bound[i] += propagationFactor * sumOfSquares[i].squareRoot() }
    }

    /// Bounds past `1e30` say nothing and would overflow later products: capped (NaN, from `∞·0`, too).
    static let largest: Float = 1e30

    static func capped(_ bound: inout [Float]) {
        // A select, not a branch: the loop vectorises (NaN fails `<=` and is replaced too).
        bound.withUnsafeMutableBufferPointer { b in
            for i in b.indices { b[i] = b[i] <= largest ? b[i] : largest }
        }
    }
}

extension RoundingBound {
    /// For the operations with a reduction inside (layer, group and Keras normalisation, transposed convolution) the
    /// bound is estimated rather than derived: the kernel's response to the incoming bound (each input element moved
    /// by its bound, signs alternating, both ways) plus `8·λ·√k·u·(|y| + mean|y|)` for its own rounding, `k` the
    /// terms each output sums.
    static func estimated(
        _ operation: some PreparedOperation, _ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor,
        roundoff u: Float, terms k: Int
    ) -> [Float] {
        let own = elementaryFunctionUlps * lambda * Float(max(k, 1)).squareRoot() * u
        let meanMagnitude = output.values.reduce(0) { $0 + abs($1) } / Float(max(output.count, 1))
        var bound = output.values.map { own * (abs($0) + meanMagnitude) }
        guard let inputBounds else { return bound }
        for sign: Float in [1, -1] {
            let moved = zip(inputs, inputBounds).map { x, b in
                FloatTensor(
                    shape: x.shape,
                    values: x.values.indices.map { i in x.values[i] + (i % 2 == 0 ? sign : -sign) * b[i] })
            }
            let y = operation.apply(moved, outputShape: output.shape)
            for i in bound.indices {
                bound[i] = max(
                    bound[i], own * (abs(output.values[i]) + meanMagnitude) + abs(y.values[i] - output.values[i]))
            }
        }
        return bound
    }
}

extension PreparedOperation {
    /// Layers that only move or pick values: the inputs' bounds moved the same way (the kernel applied to them); exact
    /// inputs give an exact output (empty).
    public func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff: Float)
        -> [Float]
    {
        guard let inputBounds else { return [] }
        let bounds = zip(inputs, inputBounds).map { FloatTensor(shape: $0.shape, values: $1) }
        return apply(bounds, outputShape: output.shape).values
    }
}
