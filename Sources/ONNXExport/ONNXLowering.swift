import ParityModel

/// How one layer operation becomes ONNX nodes: one type per operation, each in its own file under `Lowerings/`,
/// listed by `ONNXLoweringRegistry` (as `LayerRegistry` lists the operations themselves).
///
/// A lowering reads its layer's inputs from the context in the layout it needs (`LoweringContext.inputNCHW(_:)`,
/// `inputNHWC(_:)`, or `input(_:)` as they come for elementwise operators), adds its weights and nodes, and returns
/// its output together with that output's layout. It must compute what the operation's kernel computes, in the same
/// order of floating-point operations where ONNX has them.
public protocol ONNXLowering: Sendable {
    associatedtype Operation: LayerOperation

    /// Adds the nodes computing `op` for the context's current layer; returns the layer's output.
    static func lower(_ op: Operation, in context: inout LoweringContext) throws(ONNXExportError) -> LoweredValue
}

extension ONNXLowering {
    /// The operation this lowering handles.
    public static var operation: any LayerOperation.Type { Operation.self }

    /// `lower(_:in:)` for an operation known only as an existential; the registry picked this lowering by the op's
    /// `typeName`, so a different type is a registry bug.
    static func lowerAny(_ op: any LayerOperation, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        guard let op = op as? Operation else {
            preconditionFailure("lowering of '\(Operation.typeName)' handed a \(type(of: op))")
        }
        return try lower(op, in: &context)
    }
}

/// Every operation's lowering, by the operation's model-file `type`: a new operation is its lowering's file plus a
/// line here.
public struct ONNXLoweringRegistry: Sendable {
    public static let lowerings: [any ONNXLowering.Type] = [
        DenseLowering.self, BatchNormalizationLowering.self, ActivationLayerLowering.self, DropoutLowering.self,
        Conv2DLowering.self, DepthwiseConv2DLowering.self, SeparableConv2DLowering.self, ZeroPadding2DLowering.self,
        Cropping2DLowering.self, MaxPooling2DLowering.self, AveragePooling2DLowering.self,
        GlobalAveragePooling2DLowering.self, GlobalMaxPooling2DLowering.self, FlattenLowering.self,
        ReshapeLowering.self, AddLowering.self, MultiplyLowering.self, ConcatenateLowering.self, ReLULowering.self,
        SoftmaxLowering.self, RescalingLowering.self, IdentityLayerLowering.self, ElementwiseLowering.self,
        ReduceMeanLowering.self, TransposeLowering.self, StridedSliceLowering.self, NormalizationLowering.self,
        LayerNormalizationLowering.self, GroupNormalizationLowering.self, Conv1DLowering.self,
        DepthwiseConv1DLowering.self, SeparableConv1DLowering.self, Conv2DTransposeLowering.self,
        UpSampling2DLowering.self, PermuteLowering.self, SubtractLowering.self, AverageLowering.self,
        MaximumLowering.self, MinimumLowering.self, CustomScaleLowering.self, LayerScaleLowering.self,
    ]

    /// The registry of every lowering above.
    public static let standard = ONNXLoweringRegistry(lowerings)

    private let byName: [String: any ONNXLowering.Type]

    /// A registry of `lowerings` (the first wins for a type named twice); tests pass a partial one.
    public init(_ lowerings: [any ONNXLowering.Type]) {
        byName = Dictionary(
            lowerings.map { ($0.operation.typeName, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The lowering of the operation whose model-file type is `typeName`.
    public func lowering(for typeName: String) -> (any ONNXLowering.Type)? { byName[typeName] }

    /// Every lowered type name, sorted (for messages).
    public var typeNames: [String] { byName.keys.sorted() }

    /// Every lowered type name of the standard registry, sorted.
    public static var typeNames: [String] { standard.typeNames }
}
