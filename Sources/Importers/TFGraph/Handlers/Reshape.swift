import ParityModel

/// `Reshape` to a constant shape whose first dimension is the batch (`-1` or kept): a reshape layer.
struct ReshapeHandler: GraphOpHandler {
    let opTypes = ["Reshape"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        let item = context.node(node)
        guard item.inputs.count == 2, context.isDynamic(item.inputs[0]) else { return nil }
        guard let shape = try context.integers(item.inputs[1]), shape.count >= 2 else {
            throw context.refuse(node, "only a reshape to a constant shape [batch, …] is supported")
        }
        let target = Array(shape.dropFirst())
        guard shape[0] == -1 || !target.contains(-1) else {
            throw context.refuse(node, "the shape \(shape) does not keep the batch as its first dimension")
        }
        return LoweredLayer(
            op: Reshape(targetShape: target), inputs: [item.inputs[0]], output: GraphTensor(node: node, output: 0),
            nodes: [node], fallbackName: item.name)
    }
}
