import ParityModel

/// `Pad` (and `PadV2` with a zero constant) of height and width only: zero padding.
struct PadHandler: GraphOpHandler {
    let opTypes = ["Pad", "PadV2"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        let item = context.node(node)
        guard item.inputs.count >= 2, context.isDynamic(item.inputs[0]) else { return nil }
        if item.inputs.count > 2 {
            guard try context.scalar(item.inputs[2]) == 0 else {
                throw context.refuse(node, "only padding with zeros is supported")
            }
        }
        guard let amounts = try context.integers(item.inputs[1]), amounts.count == 8, amounts[0] == 0,
            amounts[1] == 0, amounts[6] == 0, amounts[7] == 0
        else {
            throw context.refuse(node, "only constant padding of height and width of an NHWC value is supported")
        }
        return LoweredLayer(
            op: ZeroPadding2D(top: amounts[2], bottom: amounts[3], left: amounts[4], right: amounts[5]),
            inputs: [item.inputs[0]],
            output: GraphTensor(node: node, output: 0), nodes: [node], fallbackName: item.name)
    }
}
