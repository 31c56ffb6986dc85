import ONNXFormat
import ParityModel

/// `Conv2DTranspose`: ONNX `ConvTranspose` on the NCHW value, the kernel `[kh, kw, filters, in]` permuted to
/// `[in, filters, kh, kw]`, then the activation.
///
/// Both compute output pixel `o = i · stride − pad_begin + t · dilation`, so `pad_begin` is the padding TensorFlow's
/// forward convolution over the output puts before it (SAME's `total / 2`, 0 for VALID), and the end is whatever
/// makes ONNX's `(in − 1) · stride + (k − 1) · dilation + 1 − pad_begin − pad_end + output_padding` the engine's
/// output size: `pad_end` when that is smaller, `output_padding` (positions no input reaches: the bias) when it is
/// larger. Both need the input's height and width.
struct Conv2DTransposeLowering: ONNXLowering {
    static func lower(_ op: Conv2DTranspose, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        let g = op.geometry
        guard let input = context.inputShape(0).aligned(toRank: 4), let height = input[1], let width = input[2],
            let output = context.outputShape.aligned(toRank: 4), let outHeight = output[1], let outWidth = output[2]
        else {
            throw context.unsupported(
                "its pads need the input's height and width (give --recording or --input-shape)")
        }
        var (before, after, extra) = ([Int](), [Int](), [Int]())
        for (axis, (size, out)) in [(height, outHeight), (width, outWidth)].enumerated() {
            let (k, s, d) = (g.kernelSize[axis], g.strides[axis], g.dilation[axis])
            let begin =
                g.padding == .same ? WindowAttributes.samePadding(input: out, kernel: k, stride: s, dilation: d).0 : 0
            let reach = (size - 1) * s + (k - 1) * d + 1 - begin
            before.append(begin)
            after.append(max(reach - out, 0))
            extra.append(max(out - reach, 0))
        }
        let x = context.inputNCHW(0)
        let kernel = context.requiredParameter("kernel")
        let (shape, values) = KernelLayout.permuted(kernel.floatValues(), shape: kernel.shape, [3, 2, 0, 1])
        var inputs = [x, context.weight("kernel", shape: shape, values)]
        if context.parameter("bias") != nil { inputs.append(context.weight(parameter: "bias", shape: [shape[1]])) }
        let attributes: [ONNXAttribute] = [
            .ints("kernel_shape", g.kernelSize), .ints("strides", g.strides), .ints("dilations", g.dilation),
            .ints("pads", before + after), .ints("output_padding", extra), .int("group", 1),
        ]
        let y = context.node("ConvTranspose", inputs, attributes)
        return LoweredValue(
            name: try context.apply(op.activation, to: y, rank: 4, channelsFirst: true), channelsFirst: true)
    }
}
