import ParityModel

/// `Permute`: the Transpose of `[0] + dims` (the batch stays first), remapped to the input's layout as
/// `TransposeLowering` does.
struct PermuteLowering: ONNXLowering {
    static func lower(_ op: Permute, in context: inout LoweringContext) -> LoweredValue {
        TransposeLowering.transpose(perm: [0] + op.dims, in: &context)
    }
}
