import ParityModel

/// `Cropping2D`: ONNX `Slice` of the NCHW value's height and width (axes 2 and 3), the bottom and right crops as
/// ends counted from the end, so the input's size need not be known.
struct Cropping2DLowering: ONNXLowering {
    static func lower(_ op: Cropping2D, in context: inout LoweringContext) -> LoweredValue {
        let x = context.inputNCHW(0)
        let end = { (crop: Int) in crop == 0 ? Int(Int64.max) : -crop }
        let inputs = [
            x, context.int64s("starts", [op.top, op.left]), context.int64s("ends", [end(op.bottom), end(op.right)]),
            context.int64s("axes", [2, 3]),
        ]
        return LoweredValue(name: context.node("Slice", inputs), channelsFirst: true)
    }
}
