import ParityModel

/// `AddV2`/`Add` and `Mul` of two data-path values: the merge layers.
struct ElementwiseHandler: GraphOpHandler {
    let opTypes: [String]
    let makeOp: @Sendable () -> any LayerOperation

    static let add = ElementwiseHandler(opTypes: ["Add", "AddV2"]) { Add() }
    static let multiply = ElementwiseHandler(opTypes: ["Mul"]) { Multiply() }

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        let item = context.node(node)
        guard item.inputs.count == 2 else { return nil }
        guard item.inputs.allSatisfy(context.isDynamic) else {
            throw context.refuse(
                node, "only two layer outputs, or a bias after a matrix product or convolution, are supported")
        }
        return LoweredLayer(
            op: makeOp(), inputs: item.inputs, output: GraphTensor(node: node, output: 0), nodes: [node],
            fallbackName: item.name)
    }
}
