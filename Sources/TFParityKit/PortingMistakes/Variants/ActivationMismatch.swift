import ParityModel

/// `activation-mismatch`: another activation, or another parameter of it, than the model's: relu and relu6, LeakyReLU's
/// slope (PyTorch's 0.01, `tf.nn.leaky_relu`'s 0.2, Keras' 0.3), GELU exact and its tanh approximation, swish and
/// hard-swish, sigmoid and the hard sigmoids.
struct ActivationMismatch: PortingVariant {
    let id = "activation-mismatch"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        if let relu = layer.op as? ReLU, relu.negativeSlope == 0, relu.threshold == 0, relu.maxValue != nil {
            return [mistaken(layer, ActivationLayer(.relu), used: "relu", model: describe(relu))]
        }
        guard let op = layer.op as? any ActivatedOperation else { return [] }
        return Self.alternatives(to: op.activation).map { alternative in
            mistaken(
                layer, op.replacingActivation(alternative), used: Self.describe(alternative),
                model: Self.describe(op.activation))
        }
    }

    private func describe(_ relu: ReLU) -> String {
        relu.maxValue == 6 ? Self.describe(.relu6) : "ReLU clipped at \(relu.maxValue.map { "\($0)" } ?? "∞")"
    }

    private func mistaken(_ layer: Layer, _ op: any LayerOperation, used: String, model: String) -> VariantCandidate {
        .operation(
            layer, op,
            detail: "the recording applied \(used) where the model has \(model). Use the model's activation, "
                + "with its parameters.")
    }

    /// The activations a port confuses with `activation`.
    static func alternatives(to activation: Activation) -> [Activation] {
        switch activation {
        case .relu: [.relu6, .leakyRelu(alpha: 0.01)]
        case .relu6: [.relu]
        case .leakyRelu(let alpha):
            ([0.01, 0.2, 0.3] as [Float]).filter { abs($0 - alpha) > 1e-6 }.map { .leakyRelu(alpha: $0) } + [.relu]
        case .gelu: [.geluApproximate]
        case .geluApproximate: [.gelu]
        case .swish: [.hardSilu, .sigmoid]
        case .hardSilu: [.swish]
        case .sigmoid: [.hardSigmoid, .hardSigmoidKeras2]
        case .hardSigmoid: [.sigmoid, .hardSigmoidKeras2]
        case .hardSigmoidKeras2: [.sigmoid, .hardSigmoid]
        default: []
        }
    }

    /// The activation's name with its formula or parameter, as the detail sentence gives it.
    static func describe(_ activation: Activation) -> String {
        switch activation {
        case .relu: "relu (max(x, 0))"
        case .relu6: "relu6 (min(max(x, 0), 6))"
        case .leakyRelu(let alpha):
            "LeakyReLU with slope \(BatchNormDiagnosis.format(Double(alpha)))"
                + (alpha == 0.01
                    ? " (PyTorch's default)"
                    : alpha == 0.3 ? " (Keras' default)" : alpha == 0.2 ? " (tf.nn.leaky_relu's default)" : "")
        case .gelu: "exact GELU (0.5·x·(1 + erf(x/√2)), Keras' default)"
        case .geluApproximate: "GELU's tanh approximation (approximate='tanh')"
        case .swish: "swish (x·sigmoid(x))"
        case .hardSilu: "hard-swish (x·relu6(x + 3)/6)"
        case .sigmoid: "sigmoid"
        case .hardSigmoid: "hard sigmoid (relu6(x + 3)/6, Keras 3 and PyTorch)"
        case .hardSigmoidKeras2: "hard sigmoid (clip(0.2·x + 0.5, 0, 1), Keras 2)"
        default: activation.name
        }
    }
}
