/// Every graph op handler. Where two take the same op type, the first listed is tried first: a pattern (the decomposed
/// batch norm, swish) before the plain op. Adding an op family is its handler file plus its line here.
enum GraphOpHandlers {
    static let all: [any GraphOpHandler] = [
        MatMulHandler(),
        Conv2DHandler(),
        DepthwiseConv2DHandler(),
        FusedBatchNormHandler(),
        DecomposedBatchNormHandler(),
        ElementwiseHandler.multiply,
        ElementwiseHandler.add,
        SwishHandler(),
        ActivationHandler(),
        PoolingHandler(),
        MeanHandler(),
        PadHandler(),
        ConcatV2Handler(),
        ReshapeHandler(),
        IdentityHandler(),
    ]

    /// The handlers by op type, each op type's in the order of `all`.
    static let table: [String: [any GraphOpHandler]] = {
        var table: [String: [any GraphOpHandler]] = [:]
        for handler in all {
            for opType in handler.opTypes { table[opType, default: []].append(handler) }
        }
        return table
    }()
}
