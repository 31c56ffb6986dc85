import ONNXFormat
import ParityModel

/// `Conv1D`: ONNX's 1-D `Conv` on the `[N, C, L]` value (`Convolution1DLowering`), the kernel `[k, in / groups, out]`
/// permuted to `[out, in / groups, k]`, `group = groups`, then back to `[N, L, C]` and the activation.
struct Conv1DLowering: ONNXLowering {
    static func lower(_ op: Conv1D, in context: inout LoweringContext) throws(ONNXExportError) -> LoweredValue {
        let x = Convolution1DLowering.channelsFirstInput(op.geometry, in: &context)
        let kernel = context.requiredParameter("kernel")
        let (shape, values) = KernelLayout.permuted(kernel.floatValues(), shape: kernel.shape, [2, 1, 0])
        var inputs = [x, context.weight("kernel", shape: shape, values)]
        if context.parameter("bias") != nil { inputs.append(context.weight(parameter: "bias", shape: [shape[0]])) }
        let attributes = Convolution1DLowering.attributes(op.geometry, in: context) + [.int("group", op.groups)]
        return try Convolution1DLowering.finish(
            context.node("Conv", inputs, attributes), activation: op.activation, in: &context)
    }
}

/// What the 1-D convolutions share. A sequence `[N, L, C]` is rank 3, so it is never held channels-first between
/// layers: each 1-D convolution transposes it to `[N, C, L]` for ONNX's Conv and back after.
enum Convolution1DLowering {
    /// The current layer's `[N, L, C]` input as `[N, C, L]`, padded on the left with `dilation · (k − 1)` zeros for
    /// `causal` padding (which then runs VALID), as Keras pads it.
    static func channelsFirstInput(_ g: Convolution1D, in context: inout LoweringContext) -> String {
        var x = context.node("Transpose", [context.inputNHWC(0)], [.ints("perm", [0, 2, 1])])
        let left = g.padding == .causal ? g.dilation[0] * (g.kernelSize[0] - 1) : 0
        if left > 0 {
            x = context.node(
                "Pad", [x, context.int64s("causal_pads", [0, 0, left, 0, 0, 0])], [.string("mode", "constant")])
        }
        return x
    }

    /// `kernel_shape`, `strides`, `dilations` and the pads: none for valid and causal; TensorFlow's SAME rule
    /// (`WindowAttributes.samePadding`) when the length is known, else `auto_pad = SAME_UPPER`.
    static func attributes(_ g: Convolution1D, in context: LoweringContext) -> [ONNXAttribute] {
        let attributes: [ONNXAttribute] = [
            .ints("kernel_shape", g.kernelSize), .ints("strides", g.strides), .ints("dilations", g.dilation),
        ]
        guard g.padding == .same else { return attributes + [.ints("pads", [0, 0])] }
        guard let length = context.inputShape(0).aligned(toRank: 3)?[1] ?? nil else {
            return attributes + [.string("auto_pad", "SAME_UPPER")]
        }
        let (before, after) = WindowAttributes.samePadding(
            input: length, kernel: g.kernelSize[0], stride: g.strides[0], dilation: g.dilation[0])
        return attributes + [.ints("pads", [before, after])]
    }

    /// The grouped convolution of the current layer's input with its depthwise kernel `[k, C, M]` as
    /// `[C·M, 1, k]` (`group = C`; output channel `c·M + m`, as `DepthwiseConv2DLowering`), and `bias` when present.
    static func depthwise(
        _ g: Convolution1D, kernel name: String, bias: String?, in context: inout LoweringContext
    ) -> String {
        let x = channelsFirstInput(g, in: &context)
        let kernel = context.requiredParameter(name)
        let (_, values) = KernelLayout.permuted(kernel.floatValues(), shape: kernel.shape, [1, 2, 0])
        let shape = [kernel.shape[1] * kernel.shape[2], 1, kernel.shape[0]]
        var inputs = [x, context.weight(name, shape: shape, values)]
        if let bias, context.parameter(bias) != nil {
            inputs.append(context.weight(parameter: bias, shape: [shape[0]]))
        }
        return context.node("Conv", inputs, attributes(g, in: context) + [.int("group", kernel.shape[1])])
    }

    /// `[N, C', L']` back to `[N, L', C']`, then `activation` over its channels (the last axis).
    static func finish(_ y: String, activation: Activation, in context: inout LoweringContext)
        throws(ONNXExportError) -> LoweredValue
    {
        let back = context.node("Transpose", [y], [.ints("perm", [0, 2, 1])])
        return LoweredValue(
            name: try context.apply(activation, to: back, rank: 3, channelsFirst: false), channelsFirst: false)
    }
}
