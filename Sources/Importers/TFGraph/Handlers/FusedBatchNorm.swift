import ParityModel

/// `FusedBatchNorm`, `V2`, `V3` in inference mode (`is_training: false`): a batch norm whose epsilon is the node's
/// attribute. A constant gamma of ones or beta of zeros (`scale=False`, `center=False`) is left out.
struct FusedBatchNormHandler: GraphOpHandler {
    let opTypes = ["FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        try context.requireNHWC(node)
        if context.bool(node, "is_training") == true {
            throw context.refuse(node, "is_training is true: the feeds select the training branch")
        }
        guard let epsilon = context.node(node).attr["epsilon"]?.floatValue else {
            throw context.refuse(node, "the node has no epsilon attribute")
        }
        let inputs = context.node(node).inputs
        guard inputs.count >= 5, context.isDynamic(inputs[0]) else {
            throw context.refuse(node, "expected x, scale, offset, mean and variance inputs")
        }
        var parameters: [(slot: String, parameter: GraphParameter)] = []
        for (slot, index) in [("moving_mean", 3), ("moving_variance", 4), ("gamma", 1), ("beta", 2)] {
            guard let parameter = try context.parameter(inputs[index]) else {
                throw context.refuse(node, "its \(slot) is computed, not a variable or constant")
            }
            if slot == "gamma" || slot == "beta",
                try isConstant(inputs[index], equalTo: slot == "gamma" ? 1 : 0, in: context)
            {
                continue
            }
            parameters.append((slot, parameter))
        }
        // Outputs 1… (the batch statistics) feed only the moving-average updates: the layer is output 0.
        return LoweredLayer(
            op: BatchNormalization(epsilon: GraphNumbers.shortest(epsilon)), parameters: parameters,
            inputs: [inputs[0]], output: GraphTensor(node: node, output: 0), nodes: [node],
            fallbackName: context.node(node).name)
    }

    private func isConstant(_ tensor: GraphTensor, equalTo value: Double, in context: LoweringContext) throws -> Bool {
        guard context.node(tensor.node).variable == nil, let constant = try context.constant(tensor) else {
            return false
        }
        return constant.doubleValues().allSatisfy { $0 == value }
    }
}

/// Numbers read from a graph.
enum GraphNumbers {
    /// A float32 attribute as the decimal that reads back as the same float (`0.001`, not `0.0010000000474974513`).
    static func shortest(_ value: Float) -> Double { Double("\(value)") ?? Double(value) }
}
