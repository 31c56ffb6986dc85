import ParityModel

/// `Conv2D` of the data by a weight `[kh, kw, in, out]` (NHWC), with the bias add that follows.
struct Conv2DHandler: GraphOpHandler {
    let opTypes = ["Conv2D"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        let (kernel, geometry) = try Convolution.read(node, kernel: "filter", in: context)
        return try BiasAddition.layer(
            node, op: Conv2D(geometry), kernelSlot: "kernel", kernel: kernel, in: context)
    }
}

/// `DepthwiseConv2dNative` of the data by a weight `[kh, kw, in, multiplier]`, with the bias add that follows.
struct DepthwiseConv2DHandler: GraphOpHandler {
    let opTypes = ["DepthwiseConv2dNative"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        let (kernel, geometry) = try Convolution.read(node, kernel: "filter", in: context)
        guard kernel.pending.shape.count == 4 else {
            throw context.refuse(
                node, "the filter has shape \(kernel.pending.shape), expected [kh, kw, in, multiplier]")
        }
        return try BiasAddition.layer(
            node, op: DepthwiseConv2D(geometry, depthMultiplier: kernel.pending.shape[3]),
            kernelSlot: "depthwise_kernel", kernel: kernel, in: context)
    }
}

/// What the convolution ops share: the filter weight, strides, dilations and padding.
enum Convolution {
    static func read(_ node: Int, kernel name: String, in context: LoweringContext) throws
        -> (GraphParameter, Convolution2D)
    {
        try context.requireNHWC(node)
        let inputs = context.node(node).inputs
        guard inputs.count == 2, context.isDynamic(inputs[0]), let kernel = try context.parameter(inputs[1]) else {
            throw context.refuse(node, "only the data convolved with a weight (variable or constant) is supported")
        }
        let shape = kernel.pending.shape
        guard shape.count == 4 else {
            throw context.refuse(node, "the \(name) has shape \(shape), expected [kh, kw, in, out]")
        }
        let geometry = Convolution2D(
            kernelSize: [shape[0], shape[1]], strides: try context.spatial(node, "strides"),
            padding: try context.padding(node), dilation: try context.spatial(node, "dilations", default: [1, 1]))
        return (kernel, geometry)
    }
}
