import ParityModel

/// `GlobalAveragePooling2D`: ONNX `GlobalAveragePool` on the NCHW value (`[N, C, 1, 1]`), flattened to `[N, C]`
/// unless `keepdims`.
struct GlobalAveragePooling2DLowering: ONNXLowering {
    static func lower(_ op: GlobalAveragePooling2D, in context: inout LoweringContext) -> LoweredValue {
        GlobalPooling.lower("GlobalAveragePool", keepdims: op.keepdims, in: &context)
    }
}

/// `GlobalMaxPooling2D`: ONNX `GlobalMaxPool` on the NCHW value, flattened to `[N, C]` unless `keepdims`.
struct GlobalMaxPooling2DLowering: ONNXLowering {
    static func lower(_ op: GlobalMaxPooling2D, in context: inout LoweringContext) -> LoweredValue {
        GlobalPooling.lower("GlobalMaxPool", keepdims: op.keepdims, in: &context)
    }
}

enum GlobalPooling {
    static func lower(_ opType: String, keepdims: Bool, in context: inout LoweringContext) -> LoweredValue {
        let pooled = context.node(opType, [context.inputNCHW(0)])
        guard !keepdims else { return LoweredValue(name: pooled, channelsFirst: true) }
        return LoweredValue(name: context.node("Flatten", [pooled], [.int("axis", 1)]), channelsFirst: false)
    }
}
