import ParityModel

/// `MaxPooling2D`: ONNX `MaxPool` on the NCHW value with TensorFlow's padding; padded positions never win, as in
/// TensorFlow.
struct MaxPooling2DLowering: ONNXLowering {
    static func lower(_ op: MaxPooling2D, in context: inout LoweringContext) -> LoweredValue {
        let attributes = WindowAttributes.make(pooling: op.pooling, input: context.inputShape(0))
        let x = context.inputNCHW(0)
        return LoweredValue(name: context.node("MaxPool", [x], attributes), channelsFirst: true)
    }
}
