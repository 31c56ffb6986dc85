import ParityModel

/// `BatchNormalization` over the channels of an image: ONNX's inference-form `BatchNormalization` on the NCHW value,
/// with the model's epsilon (absent `gamma` / `beta` as ones / zeros). Over any other axis or rank: `x · inv + offset`
/// with TensorFlow's precomputed `inv = rsqrt(variance + epsilon) · gamma` and `offset = beta − mean · inv`
/// (`BatchNormalization.scaleAndOffset`), broadcast along the axis.
struct BatchNormalizationLowering: ONNXLowering {
    static func lower(_ op: BatchNormalization, in context: inout LoweringContext) throws(ONNXExportError)
        -> LoweredValue
    {
        let rank = context.inputRank(0)
        let axis = op.axis < 0 ? op.axis + rank : op.axis
        let mean = context.requiredParameter("moving_mean").floatValues()
        let channels = mean.count
        if rank == 4, axis == 3 {
            let x = context.inputNCHW(0)
            let gamma = context.parameter("gamma")?.floatValues() ?? [Float](repeating: 1, count: channels)
            let beta = context.parameter("beta")?.floatValues() ?? [Float](repeating: 0, count: channels)
            let inputs = [
                x, context.weight("gamma", shape: [channels], gamma), context.weight("beta", shape: [channels], beta),
                context.weight(parameter: "moving_mean", shape: [channels]),
                context.weight(parameter: "moving_variance", shape: [channels]),
            ]
            let y = context.node("BatchNormalization", inputs, [.float("epsilon", Float(op.epsilon))])
            return LoweredValue(name: y, channelsFirst: true)
        }
        let (scale, offset) = BatchNormalization.scaleAndOffset(
            mean: mean, variance: context.requiredParameter("moving_variance").floatValues(),
            gamma: context.parameter("gamma")?.floatValues(), beta: context.parameter("beta")?.floatValues(),
            epsilon: Float(op.epsilon))
        let broadcast = [channels] + [Int](repeating: 1, count: rank - 1 - axis)
        let x = context.inputNHWC(0)
        let scaled = context.node("Mul", [x, context.weight("scale", shape: broadcast, scale)])
        let y = context.node("Add", [scaled, context.weight("offset", shape: broadcast, offset)])
        return LoweredValue(name: y, channelsFirst: false)
    }
}
