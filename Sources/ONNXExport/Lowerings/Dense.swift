import ParityModel

/// `Dense`: `Gemm(x, kernel, bias)` on a 2-D input, `MatMul` then `Add` on any other rank (over the last axis of the
/// NHWC value, so a 4-D input is transposed back first); the kernel stays `[in, out]`.
struct DenseLowering: ONNXLowering {
    static func lower(_ op: Dense, in context: inout LoweringContext) throws(ONNXExportError) -> LoweredValue {
        let rank = context.inputRank(0)
        let x = context.inputNHWC(0)
        let kernel = context.weight(parameter: "kernel")
        let bias = context.parameter("bias") == nil ? nil : context.weight(parameter: "bias", shape: nil)
        var y: String
        if rank == 2 {
            y = context.node("Gemm", [x, kernel] + (bias.map { [$0] } ?? []))
        } else {
            y = context.node("MatMul", [x, kernel])
            if let bias { y = context.node("Add", [y, bias]) }
        }
        y = try context.apply(op.activation, to: y, rank: rank, channelsFirst: false)
        return LoweredValue(name: y, channelsFirst: false)
    }
}
