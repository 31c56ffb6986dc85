import ParityModel

/// `ConcatV2` of data-path values along a constant axis.
struct ConcatV2Handler: GraphOpHandler {
    let opTypes = ["ConcatV2"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        let item = context.node(node)
        guard item.inputs.count >= 2 else { return nil }
        let values = Array(item.inputs.dropLast())
        guard values.allSatisfy(context.isDynamic) else {
            throw context.refuse(node, "only a concatenation of layer outputs (no constants) is supported")
        }
        guard let axis = try context.integers(item.inputs[item.inputs.count - 1]), axis.count == 1 else {
            throw context.refuse(node, "the axis is not a constant")
        }
        return LoweredLayer(
            op: Concatenate(axis: axis[0]), inputs: values, output: GraphTensor(node: node, output: 0), nodes: [node],
            fallbackName: item.name)
    }
}
