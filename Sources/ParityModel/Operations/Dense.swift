/// `y = activation(x · kernel + bias)` over the last axis; `kernel` is `[in, out]` (TensorFlow layout), `bias`
/// optional.
public struct Dense: LayerOperation {
    public static let typeName = "dense"
    public var activation: Activation

    public init(activation: Activation = .linear) { self.activation = activation }

    public var parameters: [ParameterSlot] { [.required("kernel"), .optional("bias", vector: true)] }

    public func validate() throws(LayerProblem) { try Attribute.fused(activation) }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let kernel = try ParameterShape.required("kernel", parameter)
        guard kernel.count == 2 else { throw .parameterShape("kernel", expected: "[in, out]", actual: kernel) }
        let x = inputs[0]
        guard x.rank != 0 else { throw .inputShape(expected: "[…, \(kernel[0])]", actual: "\(x)") }
        if let features = x.lastDimension, features != kernel[0] {
            if x.concrete != nil { throw .inputShape(expected: "[…, \(kernel[0])]", actual: "\(x)") }
            // Planning: the kernel is what does not fit the layer before it.
            throw .parameterShape(
                "kernel", expected: "[\(features), out] (the previous layer gives \(features) features)",
                actual: kernel)
        }
        return try ParameterShape.productOutput(x, channels: kernel[1], parameter)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let kernel = parameters.required("kernel")
        let (packed, absolute) = AbsoluteMatrix.packing(
            kernel.floatValues(), inner: kernel.shape[0], columns: kernel.shape[1], product: matrixProduct)
        return Prepared(
            kernel: packed, absolute: absolute,
            biasAndActivation: BiasAndActivation(bias: parameters.floats("bias"), activation: activation))
    }

    struct Prepared: PreparedOperation {
        let kernel: PackedMatrix
        let absolute: AbsoluteMatrix
        let biasAndActivation: BiasAndActivation

        /// `√2·λ·√n·u·(|x|·|W|) + b·|W| + u·|bias|`, then the activation's slope (`RoundingBound`).
        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            let x = inputs[0]
            let linear = absolute.productBound(
                x.values, inputBound: inputBounds?[0], rows: x.count / kernel.inner, roundoff: u)
            return biasAndActivation.roundingBound(linear, output: output, roundoff: u)
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            let x = inputs[0]
            var y = Kernels.matmul(x.values, rows: x.count / kernel.inner, kernel)
            biasAndActivation.finish(&y, channels: kernel.columns)
            return FloatTensor(shape: outputShape, values: y)
        }
    }
}
