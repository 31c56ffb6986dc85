import ONNXFormat
import ParityModel

extension LoweringContext {
    /// `activation` applied to `x` (of rank `rank`, channels-first when `channelsFirst`), by the formula the engine's
    /// kernel computes (`Activation.apply(to:lastDimension:)`); returns the result, in `x`'s layout.
    ///
    /// - `relu6` is `Clip(0, 6)`; Keras 3's `hard_sigmoid`, `relu6(x + 3) / 6`, is `HardSigmoid(1/6, 0.5)` and Keras
    ///   2's `clip(0.2·x + 0.5, 0, 1)` is `HardSigmoid(0.2, 0.5)`; `swish` is `x · Sigmoid(x)`; exact `gelu` is `Gelu`
    ///   from opset 20 and `0.5·x·(1 + Erf(x / √2))` before; `selu` takes Keras' constants; softmax runs over the
    ///   channel axis (the last one in NHWC), and needs opset 13, before which Softmax flattened its input to 2-D.
    public mutating func apply(
        _ activation: Activation, to x: String, rank: Int, channelsFirst: Bool
    ) throws(ONNXExportError) -> String {
        switch activation {
        case .linear:
            return x
        case .relu:
            return node("Relu", [x])
        case .relu6:
            return node("Clip", [x, scalar("relu6_min", 0), scalar("relu6_max", 6)])
        case .elu(let alpha):
            return node("Elu", [x], [.float("alpha", alpha)])
        case .selu:
            return node(
                "Selu", [x], [.float("alpha", 1.6732632423543772), .float("gamma", 1.0507009873554805)])
        case .sigmoid:
            return node("Sigmoid", [x])
        case .tanh:
            return node("Tanh", [x])
        case .softmax:
            try require(opset: 13, "before opset 13 Softmax flattens its input to 2-D from the axis on")
            return node("Softmax", [x], [.int("axis", heldAxis(-1, rank: rank, channelsFirst: channelsFirst))])
        case .leakyRelu(let alpha):
            return node("LeakyRelu", [x], [.float("alpha", alpha)])
        case .hardSigmoid:
            return node("HardSigmoid", [x], [.float("alpha", 1 / 6), .float("beta", 0.5)])
        case .hardSigmoidKeras2:
            return node("HardSigmoid", [x], [.float("alpha", 0.2), .float("beta", 0.5)])
        case .swish:
            return node("Mul", [x, node("Sigmoid", [x])])
        case .gelu:
            if opset >= 20 { return node("Gelu", [x], [.string("approximate", "none")]) }
            let erf = node("Erf", [node("Div", [x, scalar("sqrt2", Float(2).squareRoot())])])
            let half = node("Mul", [scalar("half", 0.5), x])
            return node("Mul", [half, node("Add", [scalar("one", 1), erf])])
        case .softplus:
            return node("Softplus", [x])
        case .softsign:
            return node("Softsign", [x])
        case .exponential:
            return node("Exp", [x])
        case .geluApproximate:
            if opset >= 20 { return node("Gelu", [x], [.string("approximate", "tanh")]) }
            let cube = node("Mul", [x, node("Mul", [x, x])])
            let inner = node(
                "Mul",
                [
                    scalar("gelu_scale", 0.7978845608028654),
                    node("Add", [x, node("Mul", [scalar("gelu_c", 0.044715), cube])]),
                ])
            return node(
                "Mul",
                [node("Mul", [scalar("half", 0.5), x]), node("Add", [scalar("one", 1), node("Tanh", [inner])])])
        case .hardSilu:
            try require(opset: 14, "HardSwish is opset 14")
            return node("HardSwish", [x])
        case .mish:
            try require(opset: 18, "Mish is opset 18")
            return node("Mish", [x])
        case .logSoftmax:
            try require(opset: 13, "before opset 13 LogSoftmax flattens its input to 2-D from the axis on")
            return node("LogSoftmax", [x], [.int("axis", heldAxis(-1, rank: rank, channelsFirst: channelsFirst))])
        case .celu(let alpha):
            try require(opset: 12, "Celu is opset 12")
            return node("Celu", [x], [.float("alpha", alpha)])
        case .hardTanh:
            return node("Clip", [x, scalar("hard_tanh_min", -1), scalar("hard_tanh_max", 1)])
        case .hardShrink:
            return node("Shrink", [x], [.float("bias", 0), .float("lambd", 0.5)])
        case .softShrink:
            return node("Shrink", [x], [.float("bias", 0.5), .float("lambd", 0.5)])
        case .logSigmoid:
            return node("Neg", [node("Softplus", [node("Neg", [x])])])
        case .tanhShrink:
            return node("Sub", [x, node("Tanh", [x])])
        case .squareplus:
            let root = node("Sqrt", [node("Add", [node("Mul", [x, x]), scalar("four", 4)])])
            return node("Div", [node("Add", [x, root]), scalar("two", 2)])
        case .glu, .sparsePlus, .sparseSigmoid, .sparsemax:
            throw .unsupportedAttributes(
                layer: layer.name, type: layer.op.typeName,
                reason: "activation '\(activation.name)' has no ONNX lowering yet")
        }
    }
}
