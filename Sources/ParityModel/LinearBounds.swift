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

/// What a fused layer (dense, convolution) does after its linear part: adds its bias per channel, then applies its
/// activation. Each such kernel holds the two as one value, so they finish its output, and its rounding bound, one
/// way.
struct BiasAndActivation: Sendable {
    let bias: [Float]?
    let activation: Activation

    /// No bias and a linear activation: the linear part is the layer's output.
    var isIdentity: Bool { bias == nil && activation == .linear }

    /// The layer's output from that of its linear part (`y`, in place, `channels` last).
    func finish(_ y: inout [Float], channels: Int) {
        if let bias { Kernels.addBias(&y, bias) }
        activation.apply(to: &y, lastDimension: channels)
    }

    /// `finish` and then `epilogue` for a product's rows, a run at a time (`Kernels.matmul(_:rows:_:finishing:)`),
    /// the same operations on each element in the same order; nil where there is
    /// nothing to do, or where the activation reads more than an element at a time (softmax and the like are left to
    /// `finish` over the whole output).
    /// Its leading operations (the bias, a ReLU or ReLU6, then the epilogue's layers for as long as each is one,
    /// `EpilogueOperation.columnStep`) are also given as `ColumnStep`s, for a kernel to apply in its registers.
    func rowFinisher(then epilogue: Epilogue, channels: Int) -> RowFinishing? {
        guard !(isIdentity && epilogue.isEmpty), channels > 0, activation == .linear || activation.isElementwise
        else { return nil }
        // The bias, then the activation, then the epilogue, on stored rows.
        func finisher(bias: [Float]?, activation: Activation, epilogue: Epilogue) -> RowFinisher {
            { y, first, count in
                let rows = UnsafeMutableBufferPointer(start: y + first * channels, count: count * channels)
                if let bias { Kernels.addBias(rows, bias) }
                if activation != .linear { activation.applyElementwise(to: rows) }
                if let base = rows.baseAddress { epilogue.apply(base, count: rows.count, channels: channels) }
            }
        }
        let all = finisher(bias: bias, activation: activation, epilogue: epilogue)
        var steps: [ColumnStep] = []
        if let bias { steps.append(.add(bias)) }
        let activationStep = activation.columnStep
        if let activationStep { steps.append(activationStep) }
        // The epilogue's leading layers follow in registers only once the activation is there too.
        let activationLeft = activation != .linear && activationStep == nil
        let fused = activationLeft ? 0 : epilogue.operations.prefix { $0.columnStep != nil }.count
        steps += epilogue.operations.prefix(fused).compactMap(\.columnStep)
        guard !steps.isEmpty else { return RowFinishing(steps: [], rest: all, all: all) }
        let remaining = Epilogue(Array(epilogue.operations.dropFirst(fused)))
        let rest =
            activationLeft || !remaining.isEmpty
            ? finisher(bias: nil, activation: activationLeft ? activation : .linear, epilogue: remaining) : nil
        return RowFinishing(steps: steps, rest: rest, all: all)
    }

    /// The layer's bound from that of its linear part (`bound`): plus `u·|bias|` per channel, then the activation's
    /// slope; `output` is the layer's result.
    func roundingBound(_ bound: consuming [Float], output: FloatTensor, roundoff u: Float) -> [Float] {
        if let bias { Kernels.addBias(&bound, bias.map { u * abs($0) }) }
        activation.roundingBound(&bound, output: output.values, lastDimension: output.lastDimension, roundoff: u)
        return bound
    }
}
