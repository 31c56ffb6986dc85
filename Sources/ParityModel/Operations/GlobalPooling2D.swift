/// Mean over height and width: `[N, H, W, C]` → `[N, C]`, or `[N, 1, 1, C]` with `keepdims`.
public struct GlobalAveragePooling2D: LayerOperation {
    public static let typeName = "global_average_pooling2d"
    public var keepdims: Bool

    public init(keepdims: Bool = false) { self.keepdims = keepdims }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try ImageKernels.globalPoolShape(inputs[0], keepdims: keepdims)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared()
    }

    struct Prepared: PreparedOperation {
        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            ImageKernels.globalPool(inputs[0], average: true, outputShape: outputShape)
        }
    }
}

/// Maximum over height and width: `[N, H, W, C]` → `[N, C]`, or `[N, 1, 1, C]` with `keepdims`.
public struct GlobalMaxPooling2D: LayerOperation {
    public static let typeName = "global_max_pooling2d"
    public var keepdims: Bool

    public init(keepdims: Bool = false) { self.keepdims = keepdims }

    public func outputShape(inputs: [ValueShape], parameter: (String) -> [Int]?) throws(LayerProblem) -> ValueShape {
        try ImageKernels.globalPoolShape(inputs[0], keepdims: keepdims)
    }

    public func prepare(_ parameters: ParameterValues, matrixProduct: MatrixProduct) -> any PreparedOperation {
        Prepared()
    }

    struct Prepared: PreparedOperation {
        func apply(_ inputs: [FloatTensor], outputShape: [Int]) -> FloatTensor {
            ImageKernels.globalPool(inputs[0], average: false, outputShape: outputShape)
        }
    }
}
