import ParityModel

/// `MaxPool` and `AvgPool` (NHWC): pooling layers with the node's window, strides and padding.
struct PoolingHandler: GraphOpHandler {
    let opTypes = ["MaxPool", "AvgPool"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        try context.requireNHWC(node)
        let item = context.node(node)
        guard let input = item.inputs.first else { return nil }
        let pooling = Pooling2D(
            poolSize: try context.spatial(node, "ksize"), strides: try context.spatial(node, "strides"),
            padding: try context.padding(node))
        let op: any LayerOperation = item.op == "MaxPool" ? MaxPooling2D(pooling) : AveragePooling2D(pooling)
        return LoweredLayer(
            op: op, inputs: [input], output: GraphTensor(node: node, output: 0), nodes: [node], fallbackName: item.name)
    }
}
