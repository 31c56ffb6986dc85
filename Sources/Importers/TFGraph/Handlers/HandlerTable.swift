/// The graph op handlers by TensorFlow op type, tried in order: a pattern (the decomposed batch norm, swish) before
/// the plain op. Adding an op family is its handler file plus its lines here.
enum GraphOpHandlers {
    static let table: [String: [any GraphOpHandler]] = {
        var table: [String: [any GraphOpHandler]] = [
            "MatMul": [MatMulHandler()],
            "Conv2D": [Conv2DHandler()],
            "DepthwiseConv2dNative": [DepthwiseConv2DHandler()],
            "FusedBatchNorm": [FusedBatchNormHandler()],
            "FusedBatchNormV2": [FusedBatchNormHandler()],
            "FusedBatchNormV3": [FusedBatchNormHandler()],
            "Mul": [DecomposedBatchNormHandler(), ElementwiseHandler.multiply],
            "Add": [ElementwiseHandler.add],
            "AddV2": [ElementwiseHandler.add],
            "Sigmoid": [SwishHandler(), ActivationHandler()],
            "MaxPool": [PoolingHandler()],
            "AvgPool": [PoolingHandler()],
            "Mean": [MeanHandler()],
            "Pad": [PadHandler()],
            "PadV2": [PadHandler()],
            "ConcatV2": [ConcatV2Handler()],
            "Reshape": [ReshapeHandler()],
            "Identity": [IdentityHandler()],
        ]
        for op in ActivationHandler.activations.keys where table[op] == nil {
            table[op] = [ActivationHandler()]
        }
        return table
    }()
}
