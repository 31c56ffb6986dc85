import ParityModel

/// `AveragePooling2D`: ONNX `AveragePool` on the NCHW value with TensorFlow's padding and `count_include_pad = 0`, so
/// a window divides by its count of real elements, as TensorFlow's `avg_pool`.
struct AveragePooling2DLowering: ONNXLowering {
    static func lower(_ op: AveragePooling2D, in context: inout LoweringContext) -> LoweredValue {
        let attributes = WindowAttributes.make(pooling: op.pooling, input: context.inputShape(0))
        let x = context.inputNCHW(0)
        let y = context.node("AveragePool", [x], attributes + [.int("count_include_pad", 0)])
        return LoweredValue(name: y, channelsFirst: true)
    }
}
