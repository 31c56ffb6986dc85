import ParityModel

/// `Subtract`: ONNX `Sub`, input by input from the left as the engine combines them (`BinaryFold.fold`).
struct SubtractLowering: ONNXLowering {
    static func lower(_ op: Subtract, in context: inout LoweringContext) -> LoweredValue {
        BinaryFold.fold("Sub", in: &context)
    }
}
