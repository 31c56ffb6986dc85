/// Inference batch normalisation over `axis` with `moving_mean`, `moving_variance` and optional `gamma`/`beta`,
/// computed in TensorFlow's order: `inv = rsqrt(variance + epsilon) * gamma; y = x * inv + (beta - mean * inv)`.
/// `axis` is as written in the source (negative counts from the end; -1 is the channel-last default).
public struct BatchNormalization: LayerOperation {
    public static let typeName = "batchnorm"
    public var epsilon: Double
    public var axis: Int

    public init(epsilon: Double, axis: Int = -1) {
        self.epsilon = epsilon
        self.axis = axis
    }

    public var parameters: [ParameterSlot] {
        [
            .required("moving_mean", vector: true), .required("moving_variance", vector: true),
            .optional("gamma", vector: true), .optional("beta", vector: true),
        ]
    }

    public func validate() throws(LayerProblem) {
        try Attribute.finite("epsilon", epsilon, nonNegative: true)
        try Attribute.plausibleAxis("axis", axis)
    }

    /// The number of channels the parameters give.
    static func channels(_ parameter: (String) -> [Int]?) throws(LayerProblem) -> Int {
        let mean = try ParameterShape.required("moving_mean", parameter)
        guard let channels = Checked.product(mean), mean.filter({ $0 != 1 }).count <= 1 else {
            throw .parameterShape("moving_mean", expected: "[channels]", actual: mean)
        }
        for name in ["moving_variance"] { try ParameterShape.vector(name, length: channels, parameter, required: true) }
        for name in ["gamma", "beta"] { try ParameterShape.vector(name, length: channels, parameter) }
        return channels
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let channels = try Self.channels(parameter)
        let x = inputs[0]
        let size: Int??
        if let rank = x.rank {
            size = x.dims[try Attribute.axis("axis", axis, rank: rank)]
        } else {
            size = axis < 0 && -axis <= x.dims.count ? x.dims[x.dims.count + axis] : nil
        }
        if let known = size ?? nil, known != channels {
            throw .inputShape(expected: "\(channels) channels on axis \(axis)", actual: "\(x)")
        }
        return x
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let (scale, offset) = Self.scaleAndOffset(
            mean: parameters.required("moving_mean").floatValues(),
            variance: parameters.required("moving_variance").floatValues(), gamma: parameters.floats("gamma"),
            beta: parameters.floats("beta"), epsilon: Float(epsilon))
        let mean = parameters.required("moving_mean").floatValues()
        return Prepared(
            scale: scale, offset: offset, axis: axis,
            cancellation: zip(mean, scale).map { abs($0 * $1) }, kernels: matrixProduct.vectorKernels)
    }

    struct Prepared: PreparedOperation {
        let scale: [Float]
        let offset: [Float]
        let axis: Int
        /// `|mean·s|` per channel: what a `(x − mean)·s` formulation does not round.
        let cancellation: [Float]
        /// Where the scale and shift of channels-last values is computed (`VectorKernels`).
        let kernels: VectorKernels

        /// `|s|·b + u·(8|x·s| + 4|o| + 8|mean·s|)` (`RoundingBound`).
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            let x = inputs[0]
            let channelAxis = axis < 0 ? axis + x.shape.count : axis
            let inner = x.shape[(channelAxis + 1)...].reduce(1, *)
            let channels = scale.count
            let incoming = inputBounds?[0] ?? []
            // Per channel: |s|, and the constant part u·(4|o| + 8·|mean·s|); elements walked channel by channel.
            let magnitude = scale.map { abs($0) }
            let constant = (0..<channels).map { u * (4 * abs(offset[$0]) + 8 * cancellation[$0]) }
            let hasIncoming = !incoming.isEmpty
            return [Float](unsafeUninitializedCapacity: x.count) { bound, initialized in
                x.values.withUnsafeBufferPointer { x in
                    incoming.withUnsafeBufferPointer { incoming in
                        @inline(__always) func element(_ i: Int, _ m: Float, _ k: Float) {
                            bound[i] = m * (hasIncoming ? incoming[i] : 0) + (8 * u) * abs(x[i]) * m + k
                        }
                        if inner == 1 {
                            // Channels last: a row of every channel at a time, a loop that vectorises.
                            for start in stride(from: 0, to: x.count, by: channels) {
                                for c in 0..<channels { element(start + c, magnitude[c], constant[c]) }
                            }
                        } else {
                            var i = 0
                            while i < x.count {
                                for c in 0..<channels {
                                    for _ in 0..<inner {
                                        element(i, magnitude[c], constant[c])
                                        i += 1
                                    }
                                }
                            }
                        }
                    }
                }
                initialized = x.count
            }
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            let x = inputs[0]
            let channelAxis = axis < 0 ? axis + x.shape.count : axis
            let inner = x.shape[(channelAxis + 1)...].reduce(1, *)
            return FloatTensor(
                shape: x.shape, values: Kernels.scaleAndShift(x.values, scale, offset, inner: inner, kernels: kernels))
        }
    }

    /// `inv = rsqrt(variance + epsilon) * gamma`, `offset = beta - mean * inv`, as `tf.nn.batch_normalization`.
    public static func scaleAndOffset(
        mean: [Float], variance: [Float], gamma: [Float]?, beta: [Float]?, epsilon: Float
    ) -> (scale: [Float], offset: [Float]) {
        var scale = [Float](repeating: 0, count: mean.count)
        var offset = [Float](repeating: 0, count: mean.count)
        for c in 0..<mean.count {
            var inv = 1 / (variance[c] + epsilon).squareRoot()
            if let gamma { inv *= gamma[c] }
            scale[c] = inv
            offset[c] = (beta?[c] ?? 0) - mean[c] * inv
        }
        return (scale, offset)
    }

    /// `y = x * inv + offset` for a single value: the worked example's formula.
    public static func apply(
        _ x: Float, mean: Float, variance: Float, gamma: Float?, beta: Float?, epsilon: Float
    ) -> Float {
        let (scale, offset) = scaleAndOffset(
            mean: [mean], variance: [variance], gamma: gamma.map { [$0] }, beta: beta.map { [$0] }, epsilon: epsilon)
        return x * scale[0] + offset[0]
    }
}

extension BatchNormalization.Prepared: EpilogueOperation {
    /// Over the last axis only (the common NHWC case), as `apply` computes it.
    func fuses(shape: [Int]) -> Bool {
        let rank = shape.count
        return rank > 0 && (axis == -1 || axis == rank - 1)
    }

    var elementWork: Int { 1 }

    func applyInPlace(_ base: UnsafeMutablePointer<Float>, count: Int, channels: Int) {
        Kernels.scaleAndShift(base, count: count, scale, offset, kernels: kernels)
    }

    var columnStep: ColumnStep? { .scaleAndShift(scale: scale, offset: offset) }
}
