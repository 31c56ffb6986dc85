import ParityModel

/// `Subtract`: ONNX `Sub` of the two inputs in one layout (`BinaryFold`).
struct SubtractLowering: ONNXLowering {
    static func lower(_ op: Subtract, in context: inout LoweringContext) -> LoweredValue {
        BinaryFold.fold("Sub", in: &context)
    }
}
