import ParityModel

/// `Maximum`: ONNX `Max`, input by input from the left (`BinaryFold`).
struct MaximumLowering: ONNXLowering {
    static func lower(_ op: Maximum, in context: inout LoweringContext) -> LoweredValue {
        BinaryFold.fold("Max", in: &context)
    }
}
