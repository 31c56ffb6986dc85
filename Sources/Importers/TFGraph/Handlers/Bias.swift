import ParityModel

/// The bias add that follows a matrix product or a convolution: `BiasAdd`, `Add` or `AddV2` of a weight vector.
enum BiasAddition {
    /// The add consuming `node` alone and its bias weight, when there is one.
    static func following(_ node: Int, in context: LoweringContext) throws -> (node: Int, bias: GraphParameter)? {
        guard let add = context.soleConsumer(of: node), ["BiasAdd", "Add", "AddV2"].contains(context.node(add).op),
            let (data, other) = context.dataAndOther(add), data.node == node,
            let bias = try context.parameter(other)
        else { return nil }
        if context.node(add).op == "BiasAdd" { try context.requireNHWC(add) }
        // Only a per-channel vector is a bias; a broadcast of anything else is left for its own handler.
        guard bias.pending.shape.filter({ $0 != 1 }).count <= 1 else { return nil }
        return (add, bias)
    }

    /// `op` on the data (the node's first input) with its weight in `kernelSlot`, and the bias add that follows when
    /// there is one.
    static func layer(
        _ node: Int, op: any LayerOperation, kernelSlot: String, kernel: GraphParameter, in context: LoweringContext
    ) throws -> LoweredLayer {
        var layer = LoweredLayer(
            op: op, parameters: [(kernelSlot, kernel)], inputs: [context.node(node).inputs[0]],
            output: GraphTensor(node: node, output: 0), nodes: [node], fallbackName: context.node(node).name)
        if let (add, bias) = try following(node, in: context) {
            layer.parameters.append(("bias", bias))
            layer.nodes.append(add)
            layer.output = GraphTensor(node: add, output: 0)
        }
        return layer
    }
}
