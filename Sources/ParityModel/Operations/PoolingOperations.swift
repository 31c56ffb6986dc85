/// What the window poolings (`MaxPooling2D`, `AveragePooling2D`) share: their `Pooling2D` geometry as attributes,
/// its validation and output shape; each says only whether it averages.
public protocol WindowPoolingOperation: LayerOperation {
    static var averages: Bool { get }
    var pooling: Pooling2D { get }
    init(_ pooling: Pooling2D)
}

extension WindowPoolingOperation {
    public func validate() throws(LayerProblem) { try pooling.validate() }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try pooling.outputShape(inputs[0])
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        PreparedWindowPooling(pooling: pooling, average: Self.averages)
    }

    public init(from decoder: any Decoder) throws { self.init(try Pooling2D(from: decoder)) }
    public func encode(to encoder: any Encoder) throws { try pooling.encode(to: encoder) }
}

struct PreparedWindowPooling: PreparedOperation {
    let pooling: Pooling2D
    let average: Bool

    /// Max: the largest incoming bound in the window. Average: the mean incoming bound plus `λ·√k·u·mean(|x|)`.
    func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
        -> [Float]
    {
        poolingBound(
            inputs, inputBounds: inputBounds, output: output, average: average,
            windowSize: pooling.poolSize[0] * pooling.poolSize[1], roundoff: u)
    }

    func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        ImageKernels.pool2D(inputs[0], pooling, average: average, outputShape: outputShape)
    }
}

extension PreparedOperation {
    /// The bound of a pooling whose `apply` takes the maximum or the mean over windows of `windowSize` values: the
    /// incoming bounds pooled as the values are, plus, for the mean, `λ·√k·u·mean(|x|)` (`RoundingBound`).
    func poolingBound(
        _ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, average: Bool, windowSize: Int,
        roundoff u: Float
    ) -> [Float] {
        let moved = inputBounds.map {
            apply(zip(inputs, $0).map { FloatTensor(shape: $0.shape, values: $1) }, outputShape: output.shape).values
        }
        guard average else { return moved ?? [Float](repeating: 0, count: output.count) }
        let x = inputs[0]
        let magnitude = apply(
            [FloatTensor(shape: x.shape, values: x.values.map { abs($0) })], outputShape: output.shape)
        let factor = RoundingBound.lambda * Float(windowSize).squareRoot() * u
        return magnitude.values.indices.map { i in (moved?[i] ?? 0) + factor * magnitude.values[i] }
    }
}

/// What the global poolings share: `[N, H, W, C]` → `[N, C]` (or `[N, 1, 1, C]` with `keepdims`).
public protocol GlobalPoolingOperation: LayerOperation {
    static var averages: Bool { get }
    var keepdims: Bool { get }
}

extension GlobalPoolingOperation {
    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try ImageKernels.globalPoolShape(inputs[0], keepdims: keepdims)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        PreparedGlobalPooling(average: Self.averages)
    }
}

struct PreparedGlobalPooling: PreparedOperation {
    let average: Bool

    /// Max: the largest incoming bound. Average: the mean incoming bound plus `λ·√(H·W)·u·mean(|x|)`.
    func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
        -> [Float]
    {
        poolingBound(
            inputs, inputBounds: inputBounds, output: output, average: average,
            windowSize: inputs[0].shape[1] * inputs[0].shape[2], roundoff: u)
    }

    func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        ImageKernels.globalPool(inputs[0], average: average, outputShape: outputShape)
    }
}

/// What the merging layers (`Add`, `Subtract`, `Multiply`, `Maximum`, `Minimum`) share: any number of inputs
/// broadcast together, combined pairwise left to right by `function`, each step's bound from `function.bound`.
public protocol BroadcastingMergeOperation: LayerOperation {
    static var function: Elementwise.Function { get }
}

extension BroadcastingMergeOperation {
    public static var inputCount: ClosedRange<Int> { 1...1024 }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try ShapeKernels.broadcastShape(inputs)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        PreparedMerge(function: Self.function)
    }
}

struct PreparedMerge: PreparedOperation {
    let function: Elementwise.Function

    /// Left to right as the kernel combines, each step's bound from its operands' (broadcast like the values).
    func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
        -> [Float]
    {
        if inputs.count == 2, inputs[0].shape == inputs[1].shape, inputs[0].shape == output.shape {
            return sameShapeBound(inputs[0], inputs[1], inputBounds: inputBounds, output: output, roundoff: u)
        }
        var value = inputs[0]
        var bound = FloatTensor(shape: value.shape, values: inputBounds?[0] ?? [Float](repeating: 0, count: value.count))
        for (index, other) in inputs.enumerated().dropFirst() {
            let otherBound = FloatTensor(
                shape: other.shape, values: inputBounds?[index] ?? [Float](repeating: 0, count: other.count))
            let shape = ShapeKernels.broadcastShape(value.shape, other.shape)
            let a = ShapeKernels.expand(value, to: shape)
            let ba = ShapeKernels.expand(bound, to: shape)
            let b = ShapeKernels.expand(other, to: shape)
            let bb = ShapeKernels.expand(otherBound, to: shape)
            var next = [Float](repeating: 0, count: a.count)
            var nextBound = [Float](repeating: 0, count: a.count)
            for i in 0..<a.count {
                next[i] = function.apply(a.values[i], b.values[i])
                nextBound[i] = function.bound(a.values[i], ba.values[i], b.values[i], bb.values[i], next[i], u)
            }
            value = FloatTensor(shape: shape, values: next)
            bound = FloatTensor(shape: shape, values: nextBound)
        }
        return bound.values
    }

    /// The common case (a residual add: two operands of the output's shape) without broadcast copies: the bound of
    /// each element from its operands', their bounds (absent: exact, 0) and the output the kernel gave.
    private func sameShapeBound(
        _ a: FloatTensor, _ b: FloatTensor, inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float
    ) -> [Float] {
        let n = output.count
        let ba = inputBounds?[0] ?? []
        let bb = inputBounds?[1] ?? []
        // A sum's or difference's bound in its own loop (it vectorises); the other functions through `bound`.
        let sum = function == .add || function == .subtract
        let function = function
        return [Float](unsafeUninitializedCapacity: n) { bound, initialized in
            a.values.withUnsafeBufferPointer { a in
                b.values.withUnsafeBufferPointer { b in
                    output.values.withUnsafeBufferPointer { y in
                        ba.withUnsafeBufferPointer { ba in
                            bb.withUnsafeBufferPointer { bb in
                                if sum, ba.count == n, bb.count == n {
                                    for i in 0..<n { bound[i] = ba[i] + bb[i] + u * (abs(a[i]) + abs(b[i])) }
                                } else if sum, ba.isEmpty, bb.isEmpty {
                                    for i in 0..<n { bound[i] = u * (abs(a[i]) + abs(b[i])) }
                                } else {
                                    for i in 0..<n {
                                        bound[i] = function.bound(
                                            a[i], ba.isEmpty ? 0 : ba[i], b[i], bb.isEmpty ? 0 : bb[i], y[i], u)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            initialized = n
        }
    }

    func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        function.combine(inputs, outputShape: outputShape)
    }
}
