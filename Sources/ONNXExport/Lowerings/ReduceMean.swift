import ONNXFormat
import ParityModel

/// `ReduceMean`: ONNX `ReduceMean` over the layer's axes (the batch axis counts; every axis when it has none), with
/// its `keepdims`; an empty list is the identity. A channels-first image is reduced as held, its axes remapped,
/// when the result keeps NHWC order (`keepdims`, or the channels or both height and width among the axes); else it
/// is transposed back first. The axes are an input from opset 18, an attribute before.
///
/// The engine sums in double and rounds the mean once; onnxruntime sums in float32, within verify's tolerance for
/// any reduction a Keras model makes.
struct ReduceMeanLowering: ONNXLowering {
    static func lower(_ op: ReduceMean, in context: inout LoweringContext) -> LoweredValue {
        let rank = context.inputRank(0)
        let x = context.input(0)
        if op.axes?.isEmpty == true { return x }
        let axes = Set(op.axes.map { $0.map { $0 < 0 ? $0 + rank : $0 } } ?? Array(0..<rank))
        let channelsFirst =
            x.channelsFirst && (op.keepdims || LoweringContext.channelsFirstKeepsOrder(removing: axes))
        let input = channelsFirst ? x.name : context.inputNHWC(0)
        // Every axis reduced: no axes at all, which both forms of the operator read as "all".
        let held =
            axes.count == rank
            ? nil : axes.map { context.heldAxis($0, rank: rank, channelsFirst: channelsFirst) }.sorted()
        let y = mean(input, heldAxes: held, keepdims: op.keepdims, in: &context)
        // Without keepdims the result has fewer than four axes, in NHWC order.
        return LoweredValue(name: y, channelsFirst: channelsFirst && op.keepdims)
    }

    /// ONNX `ReduceMean` of `x` over `heldAxes` (nil: every axis), in the form the opset has.
    static func mean(_ x: String, heldAxes: [Int]?, keepdims: Bool, in context: inout LoweringContext) -> String {
        var inputs = [x]
        var attributes: [ONNXAttribute] = [.int("keepdims", keepdims ? 1 : 0)]
        if let heldAxes {
            if context.opset >= 18 {
                inputs.append(context.int64s("axes", heldAxes))
            } else {
                attributes.append(.ints("axes", heldAxes))
            }
        }
        return context.node("ReduceMean", inputs, attributes)
    }
}
