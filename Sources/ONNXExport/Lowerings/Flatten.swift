import ParityModel

/// `Flatten`: ONNX `Flatten(axis = 1)` of the NHWC value, so the elements come in TensorFlow's order.
struct FlattenLowering: ONNXLowering {
    static func lower(_ op: Flatten, in context: inout LoweringContext) -> LoweredValue {
        let x = context.inputNHWC(0)
        return LoweredValue(name: context.node("Flatten", [x], [.int("axis", 1)]), channelsFirst: false)
    }
}
