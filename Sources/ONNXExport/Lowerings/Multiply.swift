import ParityModel

/// `Multiply`: ONNX `Mul`, input by input from the left as the engine multiplies (`Elementwise.fold`).
struct MultiplyLowering: ONNXLowering {
    static func lower(_ op: Multiply, in context: inout LoweringContext) -> LoweredValue {
        Elementwise.fold("Mul", in: &context)
    }
}
