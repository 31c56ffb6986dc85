import ParityModel

/// `Minimum`: ONNX `Min`, input by input from the left as the engine combines them (`BinaryFold.fold`).
struct MinimumLowering: ONNXLowering {
    static func lower(_ op: Minimum, in context: inout LoweringContext) -> LoweredValue {
        BinaryFold.fold("Min", in: &context)
    }
}
