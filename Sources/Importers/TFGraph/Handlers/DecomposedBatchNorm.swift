import ParityModel

/// The arithmetic `tf.nn.batch_normalization` (and Keras 3's batch norm) writes:
/// `scale = Rsqrt(variance + ε)`, optionally `· gamma`; then `x·scale + (beta − mean·scale)` (or `− mean·scale`
/// without beta). Recognised at the `Mul` of the data by the scale; epsilon is the graph's constant, never a default.
struct DecomposedBatchNormHandler: GraphOpHandler {
    let opTypes = ["Mul"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        guard let (x, scale) = context.dataAndOther(node),
            let (variance, epsilon, gamma) = try scaleParts(scale, context),
            let add = context.soleConsumer(of: node), ["Add", "AddV2"].contains(context.node(add).op),
            let (data, shift) = context.dataAndOther(add), data.node == node,
            let (mean, beta) = try shiftParts(shift, scale: scale, context)
        else { return nil }
        var parameters: [(slot: String, parameter: GraphParameter)] = [
            ("moving_mean", mean), ("moving_variance", variance),
        ]
        if let gamma { parameters.append(("gamma", gamma)) }
        if let beta { parameters.append(("beta", beta)) }
        return LoweredLayer(
            op: BatchNormalization(epsilon: GraphNumbers.shortest(Float(epsilon))), parameters: parameters,
            inputs: [x], output: GraphTensor(node: add, output: 0), nodes: [node, add],
            fallbackName: context.node(add).name)
    }

    /// `Rsqrt(Add(variance, ε))` or that times gamma.
    private func scaleParts(_ scale: GraphTensor, _ context: LoweringContext) throws
        -> (variance: GraphParameter, epsilon: Double, gamma: GraphParameter?)?
    {
        var rsqrt = scale
        var gamma: GraphParameter?
        if context.node(scale.node).op == "Mul" {
            let inputs = context.node(scale.node).inputs
            guard inputs.count == 2 else { return nil }
            if context.node(inputs[0].node).op == "Rsqrt" {
                rsqrt = inputs[0]
                gamma = try context.parameter(inputs[1])
            } else if context.node(inputs[1].node).op == "Rsqrt" {
                rsqrt = inputs[1]
                gamma = try context.parameter(inputs[0])
            }
            guard gamma != nil else { return nil }
        }
        guard context.node(rsqrt.node).op == "Rsqrt", let sum = context.node(rsqrt.node).inputs.first,
            ["Add", "AddV2"].contains(context.node(sum.node).op)
        else { return nil }
        let terms = context.node(sum.node).inputs
        guard terms.count == 2 else { return nil }
        for (epsilonTerm, varianceTerm) in [(terms[1], terms[0]), (terms[0], terms[1])] {
            if let epsilon = try context.scalar(epsilonTerm), let variance = try context.parameter(varianceTerm),
                variance.pending.shape.reduce(1, { $0 * max($1, 1) }) > 1 || variance.variableName != nil
            {
                return (variance, epsilon, gamma)
            }
        }
        return nil
    }

    /// `Sub(beta, Mul(mean, scale))` or `Neg(Mul(mean, scale))`.
    private func shiftParts(_ shift: GraphTensor, scale: GraphTensor, _ context: LoweringContext) throws
        -> (mean: GraphParameter, beta: GraphParameter?)?
    {
        let node = context.node(shift.node)
        let product: GraphTensor
        var beta: GraphParameter?
        switch node.op {
        case "Sub" where node.inputs.count == 2:
            guard let offset = try context.parameter(node.inputs[0]) else { return nil }
            beta = offset
            product = node.inputs[1]
        case "Neg" where node.inputs.count == 1:
            product = node.inputs[0]
        default:
            return nil
        }
        let factors = context.node(product.node).inputs
        guard context.node(product.node).op == "Mul", factors.count == 2, factors.contains(scale),
            let mean = try context.parameter(factors[0] == scale ? factors[1] : factors[0])
        else { return nil }
        return (mean, beta)
    }
}
