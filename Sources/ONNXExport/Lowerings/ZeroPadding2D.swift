import ParityModel

/// `ZeroPadding2D`: ONNX `Pad` (constant zeros) of the NCHW value's height and width.
struct ZeroPadding2DLowering: ONNXLowering {
    static func lower(_ op: ZeroPadding2D, in context: inout LoweringContext) -> LoweredValue {
        let x = context.inputNCHW(0)
        let pads = context.int64s("pads", [0, 0, op.top, op.left, 0, 0, op.bottom, op.right])
        return LoweredValue(
            name: context.node("Pad", [x, pads], [.string("mode", "constant")]), channelsFirst: true)
    }
}
