import ParityModel

/// `Multiply`: ONNX `Mul`, input by input from the left as the engine multiplies (`BinaryFold.fold`).
struct MultiplyLowering: ONNXLowering {
    static func lower(_ op: Multiply, in context: inout LoweringContext) -> LoweredValue {
        BinaryFold.fold("Mul", in: &context)
    }
}
