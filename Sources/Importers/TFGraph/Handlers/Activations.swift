import ParityModel

/// The elementwise activations, by op type: one layer each. `LeakyRelu` takes its `alpha` attribute, `Softmax` is
/// over the last axis.
struct ActivationHandler: GraphOpHandler {
    static let activations: [String: Activation] = [
        "Relu": .relu, "Relu6": .relu6, "Elu": .elu(alpha: 1), "Selu": .selu, "Sigmoid": .sigmoid, "Tanh": .tanh,
        "Softplus": .softplus, "Softsign": .softsign, "LeakyRelu": .leakyRelu(alpha: 0.2), "Softmax": .softmax,
    ]

    var opTypes: [String] { Array(Self.activations.keys) }

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        let item = context.node(node)
        guard var activation = Self.activations[item.op], let input = item.inputs.first else { return nil }
        if item.op == "LeakyRelu", let alpha = item.attr["alpha"]?.floatValue { activation = .leakyRelu(alpha: alpha) }
        let op: any LayerOperation = item.op == "Softmax" ? Softmax() : ActivationLayer(activation)
        return LoweredLayer(
            op: op, inputs: [input], output: GraphTensor(node: node, output: 0), nodes: [node],
            fallbackName: item.name)
    }
}

/// Swish: `x · Sigmoid(x)` (`tf.nn.silu`, Keras `swish`), recognised at the `Sigmoid`.
struct SwishHandler: GraphOpHandler {
    let opTypes = ["Sigmoid"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        guard let x = context.node(node).inputs.first, let product = context.soleConsumer(of: node),
            context.node(product).op == "Mul"
        else { return nil }
        let factors = context.node(product).inputs
        guard factors.count == 2, factors.contains(GraphTensor(node: node, output: 0)), factors.contains(x) else {
            return nil
        }
        return LoweredLayer(
            op: ActivationLayer(.swish), inputs: [x], output: GraphTensor(node: product, output: 0),
            nodes: [node, product], fallbackName: context.node(product).name)
    }
}

/// `Identity` left on the data path (a model output named by one): a linear activation.
struct IdentityHandler: GraphOpHandler {
    let opTypes = ["Identity"]

    func lower(_ node: Int, in context: LoweringContext) throws -> LoweredLayer? {
        guard let input = context.node(node).inputs.first else { return nil }
        return LoweredLayer(
            op: ActivationLayer(.linear), inputs: [input], output: GraphTensor(node: node, output: 0), nodes: [node],
            fallbackName: context.node(node).name)
    }
}
