import ParityModel

/// Operations the engine runs whose ONNX lowering is not written yet: export refuses the layer by name (exit 2)
/// rather than guessing. Each moves to a file of its own when its lowering is written and checked in onnxruntime.
enum NotYetLowered {
    static func refuse(_ context: LoweringContext) -> ONNXExportError {
        .unsupportedAttributes(
            layer: context.layer.name, type: context.layer.op.typeName,
            reason: "tfparity has no ONNX lowering for '\(context.layer.op.typeName)' yet")
    }
}

struct NormalizationLowering: ONNXLowering {
    static func lower(_ op: Normalization, in context: inout LoweringContext) throws(ONNXExportError) -> LoweredValue {
        throw NotYetLowered.refuse(context)
    }
}

struct LayerNormalizationLowering: ONNXLowering {
    static func lower(_ op: LayerNormalization, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    { throw NotYetLowered.refuse(context) }
}

struct GroupNormalizationLowering: ONNXLowering {
    static func lower(_ op: GroupNormalization, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    { throw NotYetLowered.refuse(context) }
}

struct Conv1DLowering: ONNXLowering {
    static func lower(_ op: Conv1D, in context: inout LoweringContext) throws(ONNXExportError) -> LoweredValue {
        throw NotYetLowered.refuse(context)
    }
}

struct DepthwiseConv1DLowering: ONNXLowering {
    static func lower(_ op: DepthwiseConv1D, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    { throw NotYetLowered.refuse(context) }
}

struct SeparableConv1DLowering: ONNXLowering {
    static func lower(_ op: SeparableConv1D, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    { throw NotYetLowered.refuse(context) }
}

struct Conv2DTransposeLowering: ONNXLowering {
    static func lower(_ op: Conv2DTranspose, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    { throw NotYetLowered.refuse(context) }
}

struct UpSampling2DLowering: ONNXLowering {
    static func lower(_ op: UpSampling2D, in context: inout LoweringContext) throws(ONNXExportError) -> LoweredValue {
        throw NotYetLowered.refuse(context)
    }
}
