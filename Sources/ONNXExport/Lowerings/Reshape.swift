import ParityModel

/// `Reshape`: ONNX `Reshape` of the NHWC value to `[0] + target_shape` (0 keeps the batch, -1 is inferred), so the
/// elements keep TensorFlow's order.
struct ReshapeLowering: ONNXLowering {
    static func lower(_ op: Reshape, in context: inout LoweringContext) -> LoweredValue {
        let x = context.inputNHWC(0)
        let shape = context.int64s("shape", [0] + op.targetShape)
        return LoweredValue(name: context.node("Reshape", [x, shape]), channelsFirst: false)
    }
}
