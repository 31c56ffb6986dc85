import ParityModel

/// `Permute(dims)`: ONNX `Transpose` of the channels-last value, the batch axis kept first (Keras' dims are 1-based
/// and leave it out).
struct PermuteLowering: ONNXLowering {
    static func lower(_ op: Permute, in context: inout LoweringContext) -> LoweredValue {
        let x = context.inputNHWC(0)
        return LoweredValue(
            name: context.node("Transpose", [x], [.ints("perm", [0] + op.dims)]), channelsFirst: false)
    }
}
