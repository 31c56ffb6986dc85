import ONNXFormat
import ParityModel

/// `StridedSlice`: one ONNX `Slice` of every axis the layer does not take whole, then a `Squeeze` of the axes it
/// indexes. A channels-first image is sliced as held, its axes remapped, unless an index removes the height or
/// width but not both (then the rest would not be in NHWC order, and the NHWC value is sliced).
///
/// Where an axis' size is known, the bounds are the exact indices Python's rules give
/// (`StridedSlice.Axis.range(size:)`): `[first, first + step·count)`, an end before the start of the axis written
/// as `INT64_MIN` (ONNX would count a negative end from the back). Where it is not (the batch), Python's own
/// bounds are written, an absent start or stop as `0`/`INT64_MAX` forward and `INT64_MAX`/`INT64_MIN` backward:
/// ONNX's Slice then counts negative indices from the end and clamps as Python does, except for a backward slice
/// starting before the axis' first element, which Python leaves empty and ONNX starts at element 0.
struct StridedSliceLowering: ONNXLowering {
    static func lower(_ op: StridedSlice, in context: inout LoweringContext) -> LoweredValue {
        let rank = context.inputRank(0)
        let dims = context.inputShape(0).dims
        let x = context.input(0)
        let indexed = Set(op.axes.indices.filter { op.axes[$0].index })
        let channelsFirst = x.channelsFirst && LoweringContext.channelsFirstKeepsOrder(removing: indexed)
        var y = channelsFirst ? x.name : context.inputNHWC(0)

        var (starts, ends, axes, steps) = ([Int](), [Int](), [Int](), [Int]())
        for (axis, slice) in op.axes.enumerated() where !takesWhole(slice) {
            let (start, end, step) = bounds(slice, size: dims[axis])
            starts.append(start)
            ends.append(end)
            axes.append(context.heldAxis(axis, rank: rank, channelsFirst: channelsFirst))
            steps.append(step)
        }
        if !axes.isEmpty {
            y = context.node(
                "Slice",
                [
                    y, context.int64s("starts", starts), context.int64s("ends", ends), context.int64s("axes", axes),
                    context.int64s("steps", steps),
                ])
        }
        if !indexed.isEmpty {
            let squeezed = indexed.map { context.heldAxis($0, rank: rank, channelsFirst: channelsFirst) }.sorted()
            y =
                context.opset >= 13
                ? context.node("Squeeze", [y, context.int64s("squeezed_axes", squeezed)])
                : context.node("Squeeze", [y], [.ints("axes", squeezed)])
        }
        return LoweredValue(name: y, channelsFirst: channelsFirst && indexed.isEmpty)
    }

    /// `x[:]` on this axis.
    static func takesWhole(_ slice: StridedSlice.Axis) -> Bool {
        !slice.index && slice.start == nil && slice.stop == nil && slice.step == 1
    }

    /// ONNX Slice's (start, end, step) for one axis of `size` (nil: unknown).
    static func bounds(_ slice: StridedSlice.Axis, size: Int?) -> (start: Int, end: Int, step: Int) {
        let (forwardEnd, backwardEnd) = (Int(Int64.max), Int(Int64.min))
        if let size, let range = slice.range(size: size) {
            guard range.count > 0 else { return (0, 0, 1) }
            let end = range.first + range.step * range.count
            return (range.first, end < 0 ? backwardEnd : end, range.step)
        }
        let step = slice.step
        if slice.index {
            let index = slice.start ?? 0
            return (index, index == -1 ? forwardEnd : index + 1, 1)
        }
        return (slice.start ?? (step > 0 ? 0 : forwardEnd), slice.stop ?? (step > 0 ? forwardEnd : backwardEnd), step)
    }
}
