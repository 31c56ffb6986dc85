/// An activation applied elementwise (softmax: over the last axis), as Keras' `Activation` layer and the spec's
/// `relu`, `sigmoid`, … entries.
public struct ActivationLayer: SelfPreparedOperation {
    public static let typeName = "activation"
    public var activation: Activation

    public init(_ activation: Activation) { self.activation = activation }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        guard !activation.preservesShape else { return inputs[0] }
        // glu: the last axis in two halves.
        guard inputs[0].rank != 0 else { throw .inputShape(expected: "[…, 2n]", actual: "\(inputs[0])") }
        guard let size = inputs[0].lastDimension else { return inputs[0].replacingLast(with: nil) }
        guard size % 2 == 0 else {
            throw .inputShape(expected: "an even last axis to split in halves", actual: "\(inputs[0])")
        }
        return inputs[0].replacingLast(with: size / 2)
    }

    public func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
        -> [Float]
    {
        // An exact function of exact values is exact.
        if inputBounds == nil, activation.isExact { return [] }
        var bound = inputBounds?[0] ?? [Float](repeating: 0, count: output.count)
        activation.roundingBound(
            &bound, output: output.values, lastDimension: inputs[0].lastDimension, roundoff: u)
        return bound
    }

    /// Itself, or where `matrixProduct` comes with a wider implementation of the activation, the layer computing
    /// with it (`Vectorised`: the same values).
    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let kernels = matrixProduct.vectorKernels
        guard let map = kernels.map(for: activation) else { return self }
        return Vectorised(layer: self, kernels: kernels, map: map)
    }

    public func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        apply(inputs, outputShape: outputShape, kernels: .portable)
    }

    fileprivate func apply(_ inputs: [FloatTensor], outputShape: [Int], kernels: VectorKernels) -> FloatTensor {
        if activation == .glu { return Activation.gatedLinearUnit(inputs[0]) }
        if activation == .relu || activation == .relu6 {
            // One pass into the new value rather than a copy then a pass over it.
            let maximum: Float? = activation == .relu6 ? 6 : nil
            return FloatTensor(
                shape: outputShape, values: Kernels.clamped(inputs[0].values, maximum: maximum, kernels: kernels))
        }
        var y = inputs[0].values
        activation.apply(to: &y, lastDimension: inputs[0].lastDimension, map: kernels.map(for: activation))
        return FloatTensor(shape: outputShape, values: y)
    }

    /// The layer with a wider implementation of its activation (`VectorKernels`), in every path the layer has.
    struct Vectorised: InPlaceOperation, EpilogueOperation {
        let layer: ActivationLayer
        let kernels: VectorKernels
        /// `kernels`' implementation of the layer's activation.
        let map: VectorKernels.Map

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            layer.apply(inputs, outputShape: outputShape, kernels: kernels)
        }

        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            layer.roundingBound(inputs, inputBounds: inputBounds, output: output, roundoff: u)
        }

        func applyInPlace(_ value: inout FloatTensor) -> Bool {
            layer.applyInPlace(&value, map: map)
        }

        func fuses(shape: [Int]) -> Bool { layer.fuses(shape: shape) }

        var elementWork: Int { layer.elementWork }

        func applyInPlace(_ base: UnsafeMutablePointer<Float>, count: Int, channels: Int) {
            map(base, count)
        }

        var columnStep: ColumnStep? { layer.columnStep }
    }
}

extension ActivationLayer: InPlaceOperation {
    /// Every activation but `glu` (which halves the last axis), as `apply` computes it.
    public func applyInPlace(_ value: inout FloatTensor) -> Bool { applyInPlace(&value, map: nil) }

    fileprivate func applyInPlace(_ value: inout FloatTensor, map: VectorKernels.Map?) -> Bool {
        guard activation.preservesShape else { return false }
        activation.apply(to: &value.values, lastDimension: value.lastDimension, map: map)
        return true
    }
}

extension ActivationLayer: EpilogueOperation {
    /// The element-by-element activations (not the row-wise softmax family, not `glu`).
    public func fuses(shape: [Int]) -> Bool { activation.isElementwise }

    public var elementWork: Int { activation.elementWork ?? 1 }

    public func applyInPlace(_ base: UnsafeMutablePointer<Float>, count: Int, channels: Int) {
        activation.applyElementwise(to: UnsafeMutableBufferPointer(start: base, count: count))
    }

    /// ReLU and ReLU6 as a clamp (`Activation.columnStep`).
    public var columnStep: ColumnStep? { activation.columnStep }
}

/// The identity at inference (Keras' Dropout, SpatialDropout, GaussianNoise, …); `rate` is kept for the record.
public struct Dropout: LayerOperation {
    public static let typeName = "dropout"
    public var rate: Double

    public init(rate: Double = 0) { self.rate = rate }

    public func validate() throws(LayerProblem) { try Attribute.finite("rate", rate) }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) -> ValueShape { inputs[0] }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Identity()
    }
}

/// Passes its input through.
struct Identity: PreparedOperation {
    func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor { inputs[0] }
}
