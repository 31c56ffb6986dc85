import ParityModel

/// `MatMul` of the data by a weight `[in, out]`, with the bias add that follows: a dense layer.
struct MatMulHandler: GraphOpHandler {
    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        let inputs = context.node(node).inputs
        guard inputs.count == 2, context.isDynamic(inputs[0]), !context.isDynamic(inputs[1]) else {
            throw context.refuse(node, "only the data times a weight matrix is supported")
        }
        if context.bool(node, "transpose_a") == true || context.bool(node, "transpose_b") == true {
            throw context.refuse(node, "transposed operands are not supported")
        }
        guard let kernel = try context.parameter(inputs[1]) else {
            throw context.refuse(node, "the weight matrix is computed, not a variable or constant")
        }
        var layer = LoweredLayer(
            op: Dense(), parameters: [("kernel", kernel)], inputs: [inputs[0]],
            output: GraphTensor(node: node, output: 0), nodes: [node], fallbackName: context.node(node).name)
        if let (add, bias) = try BiasAddition.following(node, in: context) {
            layer.parameters.append(("bias", bias))
            layer.nodes.append(add)
            layer.output = GraphTensor(node: add, output: 0)
        }
        return layer
    }
}
