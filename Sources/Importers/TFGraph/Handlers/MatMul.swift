import ParityModel

/// `MatMul` of the data by a weight `[in, out]`, with the bias add that follows: a dense layer.
struct MatMulHandler: GraphOpHandler {
    let opTypes = ["MatMul"]

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
        return try BiasAddition.layer(node, op: Dense(), kernelSlot: "kernel", kernel: kernel, in: context)
    }
}
