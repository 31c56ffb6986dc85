import TensorCore

/// `y = activation(conv2d_transpose(x, kernel) + bias)` over NHWC input, as Keras' `Conv2DTranspose` calls
/// TensorFlow: `kernel` is `[kh, kw, filters, in]`, the output size per axis `(in − 1) · stride + max(k, stride)`
/// (valid) or `in · stride` (same), or with `output_padding` `(in − 1) · stride + k + output_padding` (valid) and
/// `(in − 1) · stride + k mod 2 + output_padding` (same), `k` the dilated kernel; output pixel `o` sums
/// `x[i] · kernel[t]` over `o = i · stride − pad + t · dilation`, `pad` the padding TensorFlow's forward convolution
/// over the output would use.
public struct Conv2DTranspose: LayerOperation {
    public static let typeName = "conv2d_transpose"
    public var geometry: Convolution2D
    public var outputPadding: [Int]?
    public var activation: Activation

    public init(_ geometry: Convolution2D, outputPadding: [Int]? = nil, activation: Activation = .linear) {
        self.geometry = geometry
        self.outputPadding = outputPadding
        self.activation = activation
    }

    public var parameters: [ParameterSlot] { [.required("kernel"), .optional("bias", vector: true)] }

    public func validate() throws(LayerProblem) {
        try geometry.validate()
        try Attribute.fused(activation)
        if let outputPadding {
            try Attribute.nonNegative("output_padding", outputPadding, count: 2)
            guard outputPadding[0] < geometry.strides[0], outputPadding[1] < geometry.strides[1] else {
                throw .attribute("output_padding", outputPadding, "must be below the strides \(geometry.strides)")
            }
        }
        guard geometry.dilation == [1, 1] || geometry.strides == [1, 1] else {
            throw .attribute(
                "dilation_rate", geometry.dilation, "other than 1 needs strides of 1 (TensorFlow's conv2d_transpose)")
        }
    }

    /// The output size and padding before along axis `i` for an input of `size`; throws when TensorFlow's forward
    /// convolution over that output would not give `size` back.
    func axis(_ i: Int, input size: Int, shape: ValueShape) throws(LayerProblem) -> (output: Int, padBefore: Int) {
        let (k, s, d) = (geometry.kernelSize[i], geometry.strides[i], geometry.dilation[i])
        // Validated attributes keep these products within Int; the element count is checked after.
        let effective = (k - 1) * d + 1
        let output: Int
        if let outputPadding {
            output = (size - 1) * s + (geometry.padding == .valid ? effective : effective % 2) + outputPadding[i]
        } else {
            output = geometry.padding == .valid ? (size - 1) * s + max(effective, s) : size * s
        }
        guard output > 0, output <= Limits.elements,
            let forward = WindowAxis(input: output, kernel: k, stride: s, dilation: d, padding: geometry.padding),
            forward.output == size
        else {
            throw .inputShape(
                expected: "a size whose transposed convolution output TensorFlow's forward convolution maps back",
                actual: "\(shape)")
        }
        return (output, forward.padBefore)
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        let kernel = try ParameterShape.required("kernel", parameter)
        try geometry.checkKernel("kernel", kernel)
        try ParameterShape.vector("bias", length: kernel[2], parameter)
        let image = try ImageDims(inputs[0], channels: kernel[3])
        let height = try image.height.map { (h) throws(LayerProblem) in try axis(0, input: h, shape: inputs[0]).output }
        let width = try image.width.map { (w) throws(LayerProblem) in try axis(1, input: w, shape: inputs[0]).output }
        let output = [image.batch, height, width, kernel[2]]
        try Checked.elementCount(output, "the output")
        // Each input pixel's contribution to every kernel position: [N, H, W, kh · kw · filters].
        try Checked.elementCount(
            [image.batch, image.height, image.width, kernel[0] * kernel[1], kernel[2]], "the column buffer")
        return ValueShape(output)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        let kernel = parameters.required("kernel")
        let (kh, kw, filters, channels) = (kernel.shape[0], kernel.shape[1], kernel.shape[2], kernel.shape[3])
        // [in, kh · kw · filters]: input channel c's weights for every (ky, kx, f).
        let values = kernel.floatValues()
        let columns = kh * kw * filters
        var transposed = [Float](repeating: 0, count: channels * columns)
        for t in 0..<columns {
            for c in 0..<channels { transposed[c * columns + t] = values[t * channels + c] }
        }
        return Prepared(
            operation: self,
            kernel: PackedMatrix(transposed, inner: channels, columns: columns, product: matrixProduct),
            kernelShape: kernel.shape,
            biasAndActivation: BiasAndActivation(bias: parameters.floats("bias"), activation: activation))
    }

    struct Prepared: PreparedOperation {
        let operation: Conv2DTranspose
        let kernel: PackedMatrix
        let kernelShape: [Int]
        let biasAndActivation: BiasAndActivation

        func roundingBound(_ inputs: [FloatTensor], inputBounds: [[Float]]?, output: FloatTensor, roundoff u: Float)
            -> [Float]
        {
            RoundingBound.estimated(
                self, inputs, inputBounds: inputBounds, output: output, roundoff: u,
                terms: kernelShape[0] * kernelShape[1] * kernelShape[3])
        }

        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            let x = inputs[0]
            let image = ImageShape(x.shape)
            guard let rows = try? operation.axis(0, input: image.height, shape: ValueShape(concrete: x.shape)),
                let columns = try? operation.axis(1, input: image.width, shape: ValueShape(concrete: x.shape))
            else { preconditionFailure("a checked transposed convolution does not fit \(x.shape)") }
            var y = ImageKernels.conv2DTranspose(
                x, kernel: kernel, kernelShape: kernelShape, geometry: operation.geometry,
                padBefore: [rows.padBefore, columns.padBefore], outputShape: outputShape)
            biasAndActivation.finish(&y.values, channels: kernelShape[2])
            return y
        }
    }

    enum CodingKeys: String, CodingKey {
        case activation
        case outputPadding = "output_padding"
    }

    public init(from decoder: any Decoder) throws {
        geometry = try Convolution2D(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        outputPadding = try container.decodeIfPresent([Int].self, forKey: .outputPadding)
        activation = try container.decode(Activation.self, forKey: .activation)
    }

    public func encode(to encoder: any Encoder) throws {
        try geometry.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(outputPadding, forKey: .outputPadding)
        try container.encode(activation, forKey: .activation)
    }
}
