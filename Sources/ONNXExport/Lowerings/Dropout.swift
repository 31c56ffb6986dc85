import ParityModel

/// `Dropout`, the identity at inference: no node; the layer's output is its input's value.
struct DropoutLowering: ONNXLowering {
    static func lower(_ op: Dropout, in context: inout LoweringContext) -> LoweredValue { context.input(0) }
}
