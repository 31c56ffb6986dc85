// The parts the linear layers' rounding bounds share (`RoundingBound` states each rule).

extension Convolution2D {
    /// The bound of a convolution of `terms`-term dot products, before bias and activation:
    /// `√2·λ·√n·u·conv(|x|, |K|)`, and with incoming bounds `b` the root-sum-square of that and `√conv(b², K²)`.
    /// `convolve(v, squared)` is the layer's convolution of `v` with `|K|` (`squared`: with `K²`).
    static func linearBound(
        _ x: FloatTensor, inputBound: [Float]?, terms: Int, roundoff u: Float,
        convolve: (FloatTensor, _ squared: Bool) -> FloatTensor
    ) -> [Float] {
        let factor = RoundingBound.dotProductFactor(terms: terms, roundoff: u)
        var bound = convolve(RoundingBound.magnitudes(x), false).values
        RoundingBound.scale(&bound, by: factor)
        if let inputBound {
            RoundingBound.addRootSumSquare(
                &bound, convolve(FloatTensor(shape: x.shape, values: RoundingBound.squares(inputBound)), true).values)
        }
        return bound
    }
}

extension AbsoluteMatrix {
    /// The bound of the product of `rows` rows `x` with the matrix, before bias and activation:
    /// `√2·λ·√n·u·(|x|·|W|)`, and with incoming bounds `b` the root-sum-square of that and `√(b²·W²)`.
    func productBound(_ x: [Float], inputBound: [Float]?, rows: Int, roundoff u: Float) -> [Float] {
        let absolute = matrix
        let factor = RoundingBound.dotProductFactor(terms: absolute.inner, roundoff: u)
        var bound = Kernels.matmul(RoundingBound.magnitudes(x), rows: rows, absolute)
        RoundingBound.scale(&bound, by: factor)
        if let inputBound {
            RoundingBound.addRootSumSquare(
                &bound, Kernels.matmul(RoundingBound.squares(inputBound), rows: rows, squared))
        }
        return bound
    }
}

extension Activation {
    /// A fused layer's output from that of its linear part (`y`, in place, `channels` last): plus the bias per
    /// channel, then this activation.
    func finish(_ y: inout [Float], bias: [Float]?, channels: Int) {
        if let bias { Kernels.addBias(&y, bias) }
        apply(to: &y, lastDimension: channels)
    }

    /// A fused layer's bound from that of its linear part (`bound`, in place): plus `u·|bias|` per channel, then
    /// this activation's slope; `output` is the layer's result.
    func roundingBound(_ bound: inout [Float], bias: [Float]?, output: FloatTensor, roundoff u: Float) {
        if let bias { Kernels.addBias(&bound, bias.map { u * abs($0) }) }
        roundingBound(&bound, output: output.values, lastDimension: output.lastDimension, roundoff: u)
    }
}
