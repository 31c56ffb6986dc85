import TensorCore

/// How a 1-D window is placed: TensorFlow's `VALID` and `SAME`, or Keras' `causal` (the input padded on the left
/// with `dilation · (kernel − 1)` zeros, then `VALID`).
public enum Padding1D: String, Sendable, Equatable, Codable {
    case valid
    case same
    case causal
}

/// The window geometry of a 1-D convolution over `[N, L, C]` input (model-file attributes `kernel_size`, `strides`,
/// `padding`, `dilation_rate`, one value each). The 1-D operations run as their 2-D counterparts over `[N, 1, L, C]`
/// with `[1, k, …]` kernels, which is what TensorFlow does with them (`conv1d` expands a unit height axis).
public struct Convolution1D: Sendable, Equatable, Codable {
    public var kernelSize: [Int]
    public var strides: [Int]
    public var padding: Padding1D
    public var dilation: [Int]

    public init(kernelSize: Int, stride: Int = 1, padding: Padding1D = .valid, dilation: Int = 1) {
        self.kernelSize = [kernelSize]
        self.strides = [stride]
        self.padding = padding
        self.dilation = [dilation]
    }

    enum CodingKeys: String, CodingKey {
        case kernelSize = "kernel_size"
        case strides, padding
        case dilation = "dilation_rate"
    }

    func validate() throws(LayerProblem) {
        try Attribute.positive("kernel_size", kernelSize, count: 1)
        try Attribute.positive("strides", strides, count: 1)
        try Attribute.positive("dilation_rate", dilation, count: 1)
    }

    /// The same window over a unit height axis.
    var planar: Convolution2D {
        Convolution2D(
            kernelSize: [1, kernelSize[0]], strides: [1, strides[0]], padding: padding == .same ? .same : .valid,
            dilation: [1, dilation[0]])
    }

    /// Zeros before the first element (causal padding); validated sizes keep it within `Int`.
    var leftPadding: Int { padding == .causal ? dilation[0] * (kernelSize[0] - 1) : 0 }

    /// `[N, L, C]` as the `[N, 1, L + leftPadding, C]` image the planar operation sees.
    func planarInput(_ shape: ValueShape) throws(LayerProblem) -> ValueShape {
        guard let dims = shape.aligned(toRank: 3) else {
            throw .inputShape(expected: "[N, L, C] (channels last)", actual: "\(shape)")
        }
        let length = try dims[1].map { (length) throws(LayerProblem) in
            try Checked.sum(length, leftPadding, "the causally padded length")
        }
        let image = [dims[0], 1, length, dims[2]]
        if leftPadding > 0 { try Checked.elementCount(image, "the causally padded input") }
        return ValueShape(image)
    }

    /// The planar operation's `[N, 1, L', C']` output as `[N, L', C']`.
    static func sequence(_ shape: ValueShape) -> ValueShape {
        ValueShape([shape.dims[0], shape.dims[2], shape.dims[3]])
    }

    /// Throws unless each kernel `kernelNames` lists, when present, is 3-D (`[k, a, b]`).
    static func checkKernels(_ parameter: (String) -> [Int]?, _ kernelNames: Set<String>) throws(LayerProblem) {
        for name in kernelNames.sorted() {
            if let shape = parameter(name), shape.count != 3 {
                throw .parameterShape(name, expected: "[kernel, in, out] (3-D)", actual: shape)
            }
        }
    }

    /// A parameter's shape as the planar operation reads it: a kernel of `kernelNames` `[k, a, b]` as `[1, k, a, b]`.
    static func planarShape(_ name: String, _ shape: [Int]?, kernels kernelNames: Set<String>) -> [Int]? {
        shape.map { kernelNames.contains(name) ? [1] + $0 : $0 }
    }

    /// The parameters with the named kernels given a unit leading axis.
    static func planarValues(_ parameters: ParameterValues, kernels kernelNames: Set<String>) -> ParameterValues {
        ParameterValues { name in
            guard let tensor = parameters.tensors(name) else { return nil }
            return kernelNames.contains(name) ? tensor.reshaped([1] + tensor.shape) : tensor
        }
    }

    /// `planar`'s rounding bound for `x` seen as `apply` sees it (the bound padded with zeros likewise).
    func roundingBound(
        _ planar: any PreparedOperation, _ x: FloatTensor, inputBound: [Float]?, output: FloatTensor, roundoff: Float
    ) -> [Float] {
        func image(_ values: [Float]) -> FloatTensor {
            let (batch, length, channels) = (x.shape[0], x.shape[1], x.shape[2])
            let flat = FloatTensor(shape: [batch, 1, length, channels], values: values)
            guard leftPadding > 0 else { return flat }
            return ShapeKernels.place(flat, into: [batch, 1, length + leftPadding, channels], top: 0, left: leftPadding)
        }
        let planarOutput = FloatTensor(
            shape: [output.shape[0], 1, output.shape[1], output.shape[2]], values: output.values)
        return planar.roundingBound(
            [image(x.values)], inputBounds: inputBound.map { [image($0).values] }, output: planarOutput,
            roundoff: roundoff)
    }

    /// Runs `planar` on `x` (`[N, L, C]`) seen as `[N, 1, L + leftPadding, C]`, giving `[N, L', C']`.
    func apply(_ planar: any PreparedOperation, _ x: FloatTensor, outputShape: [Int]) -> FloatTensor {
        let (batch, length, channels) = (x.shape[0], x.shape[1], x.shape[2])
        var image = FloatTensor(shape: [batch, 1, length, channels], values: x.values)
        if leftPadding > 0 {
            image = ShapeKernels.place(
                image, into: [batch, 1, length + leftPadding, channels], top: 0, left: leftPadding)
        }
        let y = planar.apply([image], outputShape: [outputShape[0], 1, outputShape[1], outputShape[2]])
        return FloatTensor(shape: outputShape, values: y.values)
    }
}

/// What the 1-D convolutions (`Conv1D`, `DepthwiseConv1D`, `SeparableConv1D`) share: each is its 2-D counterpart
/// (`planar`) over a unit height axis, its 3-D `kernels` given a unit leading axis; validation, output shape and
/// kernel are the planar operation's.
public protocol Convolution1DOperation: LayerOperation {
    associatedtype Planar: LayerOperation
    /// The parameters that are `[k, a, b]` kernels here and `[1, k, a, b]` for `planar`.
    static var kernels: Set<String> { get }
    var geometry: Convolution1D { get }
    /// The same operation over `[N, 1, L, C]`.
    var planar: Planar { get }
}

extension Convolution1DOperation {
    public var parameters: [ParameterSlot] { planar.parameters }

    public func validate() throws(LayerProblem) {
        try geometry.validate()
        try planar.validate()
    }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try Convolution1D.checkKernels(parameter, Self.kernels)
        let shape = try planar.outputShape(inputs: [try geometry.planarInput(inputs[0])]) {
            Convolution1D.planarShape($0, parameter($0), kernels: Self.kernels)
        }
        return Convolution1D.sequence(shape)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) throws(LayerProblem)
        -> any PreparedOperation
    {
        Conv1D.Prepared(
            geometry: geometry,
            planar: try planar.prepare(
                Convolution1D.planarValues(parameters, kernels: Self.kernels), matrixProduct: matrixProduct))
    }
}

extension Convolution1DOperation
where
    Self: DepthwiseConvolutionOperation, Geometry == Convolution1D, Planar: DepthwiseConvolutionOperation,
    Planar.Geometry == Convolution2D
{
    public var planar: Planar { Planar(geometry.planar, depthMultiplier: depthMultiplier, activation: activation) }
}

extension Convolution1DOperation where Self: BatchNormFoldable {
    /// The channel axis of `[N, L, C]`, whichever operation's kernel it is.
    public var foldableAxes: Set<Int> { [-1, 2] }
}
