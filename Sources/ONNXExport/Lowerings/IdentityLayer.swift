import ParityModel

/// `IdentityLayer` (a nested model's output): no node; the layer's output is its input's value, in its layout.
struct IdentityLayerLowering: ONNXLowering {
    static func lower(_ op: IdentityLayer, in context: inout LoweringContext) -> LoweredValue { context.input(0) }
}
