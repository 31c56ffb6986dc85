import ParityModel

/// `Mean` over height and width of an NHWC value (`tf.reduce_mean(x, [1, 2])`, Keras' global average pooling).
struct MeanHandler: GraphOpHandler {
    let opTypes = ["Mean"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        let item = context.node(node)
        guard item.inputs.count == 2, context.isDynamic(item.inputs[0]) else { return nil }
        guard let axes = try context.integers(item.inputs[1]), Set(axes) == [1, 2] || Set(axes) == [-3, -2] else {
            throw context.refuse(node, "only a mean over height and width (axes [1, 2]) is supported")
        }
        return LoweredLayer(
            op: GlobalAveragePooling2D(keepdims: context.bool(node, "keep_dims") ?? false), inputs: [item.inputs[0]],
            output: GraphTensor(node: node, output: 0), nodes: [node], fallbackName: item.name)
    }
}
