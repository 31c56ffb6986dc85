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
    /// - The newer activations follow the engine's float32 formulas operator by operator: `hard_silu` is
    ///   `x · (clip(x + 3, 0, 6) / 6)` (not ONNX's HardSwish, which rounds `x / 6 + 0.5`), `mish` is
    ///   `x · tanh(softplus(x))`, tanh-approximate `gelu` is `Gelu(approximate = tanh)` from opset 20 and its formula
    ///   before, `log_softmax` is `LogSoftmax` on the channel axis, `celu` is `Celu` from opset 12, `hard_shrink` /
    ///   `soft_shrink` are `Shrink`, `sparse_plus` and `sparse_sigmoid` their piecewise formulas, `sparsemax` as
    ///   `sparsemax(_:channelsFirst:)`; `glu` changes the shape, so only `ActivationLayerLowering` applies it.
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
        case .geluApproximate:
            if opset >= 20 { return node("Gelu", [x], [.string("approximate", "tanh")]) }
            let cube = node("Mul", [node("Mul", [x, x]), x])
            let inner = node("Add", [x, node("Mul", [scalar("gelu_coefficient", 0.044715), cube])])
            let t = node("Tanh", [node("Mul", [scalar("gelu_scale", 0.7978845608028654), inner])])
            return node("Mul", [node("Mul", [scalar("half", 0.5), x]), node("Add", [scalar("one", 1), t])])
        case .hardSilu:
            let six = scalar("six", 6)
            let gate = node("Clip", [node("Add", [x, scalar("three", 3)]), scalar("zero", 0), six])
            return node("Mul", [x, node("Div", [gate, six])])
        case .mish:
            return node("Mul", [x, node("Tanh", [node("Softplus", [x])])])
        case .logSoftmax:
            try require(opset: 13, "before opset 13 LogSoftmax flattens its input to 2-D from the axis on")
            return node("LogSoftmax", [x], [.int("axis", heldAxis(-1, rank: rank, channelsFirst: channelsFirst))])
        case .celu(let alpha):
            if opset >= 12 { return node("Celu", [x], [.float("alpha", alpha)]) }
            let a = scalar("alpha", alpha)
            let negative = node("Div", [node("Min", [x, scalar("zero", 0)]), a])
            let tail = node("Mul", [a, node("Sub", [node("Exp", [negative]), scalar("one", 1)])])
            return node("Add", [node("Relu", [x]), tail])
        case .glu:
            // ActivationLayerLowering splits the axis itself; a fusing layer's validate refuses glu.
            throw unsupported("glu halves the last axis: only an activation layer applies it")
        case .hardShrink:
            return node("Shrink", [x], [.float("bias", 0), .float("lambd", 0.5)])
        case .hardTanh:
            return node("Clip", [x, scalar("minus_one", -1), scalar("one", 1)])
        case .logSigmoid:
            return node("Neg", [node("Softplus", [node("Neg", [x])])])
        case .softShrink:
            return node("Shrink", [x], [.float("bias", 0.5), .float("lambd", 0.5)])
        case .sparsePlus:
            try require(opset: 12, "LessOrEqual, which keeps NaN as the kernel does, is opset 12")
            let one = scalar("one", 1)
            let shifted = node("Add", [x, one])
            let square = node("Mul", [scalar("quarter", 0.25), node("Mul", [shifted, shifted])])
            let upper = node("Where", [node("Less", [x, one]), square, x])
            return node("Where", [node("LessOrEqual", [x, scalar("minus_one", -1)]), scalar("zero", 0), upper])
        case .sparseSigmoid:
            let half = node("Mul", [scalar("half", 0.5), node("Add", [x, scalar("one", 1)])])
            return node("Clip", [half, scalar("zero", 0), scalar("one", 1)])
        case .sparsemax:
            return try sparsemax(x, channelsFirst: channelsFirst && rank == 4)
        case .squareplus:
            let root = node("Sqrt", [node("Add", [node("Mul", [x, x]), scalar("four", 4)])])
            return node("Div", [node("Add", [x, root]), scalar("two", 2)])
        case .tanhShrink:
            return node("Sub", [x, node("Tanh", [x])])
        case .softplus:
            return node("Softplus", [x])
        case .softsign:
            return node("Softsign", [x])
        case .exponential:
            return node("Exp", [x])
        }
    }

    /// Keras 3's TensorFlow `sparsemax` over the last axis, step by step as `Activation.sparsemaxRows` computes it:
    /// the row sorted descending (`TopK` of the whole axis), running sums `s` (`CumSum`), positions `j + 1` (the
    /// running count of ones), the support `sorted − (s − 1) / (j + 1) > 0`, `tau = (Σ s over the support − 1) / k`,
    /// `Relu(x − tau)`. A channels-first image runs NHWC inside (its channels last) and is transposed back.
    mutating func sparsemax(_ x: String, channelsFirst: Bool) throws(ONNXExportError) -> String {
        try require(opset: 13, "ReduceSum takes its axes as an input from opset 13")
        let rows = channelsLast(LoweredValue(name: x, channelsFirst: channelsFirst))
        let shape = node("Shape", [rows])
        let size = node("Slice", [shape, int64s("last_start", [-1]), int64s("last_end", [Int(Int64.max)])])
        let sorted = nodeOutputs(
            "TopK", [rows, size], count: 2, [.int("axis", -1), .int("largest", 1), .int("sorted", 1)])[0]
        let axis = int64Scalar("sparsemax_axis", -1)
        let one = scalar("one", 1)
        let zero = scalar("zero", 0)
        let running = node("CumSum", [sorted, axis])
        let positions = node("CumSum", [node("Expand", [one, shape]), axis])
        let threshold = node("Div", [node("Sub", [running, one]), positions])
        let inSupport = node("Greater", [node("Sub", [sorted, threshold]), zero])
        let axes = int64s("sum_axes", [-1])
        let support = node(
            "ReduceSum", [node("Cast", [inSupport], [.int("to", 1)]), axes], [.int("keepdims", 1)])
        let supportSum = node(
            "ReduceSum", [node("Where", [inSupport, running, zero]), axes], [.int("keepdims", 1)])
        let tau = node("Div", [node("Sub", [supportSum, one]), support])
        let y = node("Relu", [node("Sub", [rows, tau])])
        return channelsFirst ? self.channelsFirst(LoweredValue(name: y, channelsFirst: false)) : y
    }
}
