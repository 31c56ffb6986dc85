import ParityModel

/// `Minimum`: ONNX `Min`, input by input from the left (`BinaryFold`).
struct MinimumLowering: ONNXLowering {
    static func lower(_ op: Minimum, in context: inout LoweringContext) -> LoweredValue {
        BinaryFold.fold("Min", in: &context)
    }
}
