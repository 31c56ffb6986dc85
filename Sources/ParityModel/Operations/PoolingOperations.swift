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

    func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        ImageKernels.pool2D(inputs[0], pooling, average: average, outputShape: outputShape)
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

    func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        ImageKernels.globalPool(inputs[0], average: average, outputShape: outputShape)
    }
}

/// What the merging layers (`Add`, `Multiply`) share: any number of inputs broadcast together, combined pairwise
/// left to right by `combine`.
public protocol BroadcastingMergeOperation: LayerOperation {
    static func combine(_ a: Float, _ b: Float) -> Float
}

extension BroadcastingMergeOperation {
    public static var inputCount: ClosedRange<Int> { 1...1024 }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try ShapeKernels.broadcastShape(inputs)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        PreparedMerge(combine: Self.combine)
    }
}

struct PreparedMerge: PreparedOperation {
    let combine: @Sendable (Float, Float) -> Float

    func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
        ShapeKernels.combine(inputs, outputShape: outputShape, combine)
    }
}
