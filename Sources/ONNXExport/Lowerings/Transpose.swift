import ParityModel

/// `Transpose`: ONNX `Transpose` with the permutation remapped to the layout the input is held in (the batch axis
/// counts, as in `tf.transpose`). Output axis `i` is NHWC input axis `perm[i]`, which a channels-first input holds
/// at `heldAxis(perm[i])`; the result is written NHWC (`perm[i] → heldAxis(perm[i])`) or, for 4-D, channels-first
/// (held output axis `j` is NHWC output axis `[0, 3, 1, 2][j]`). Where either form is the identity (a channels-first
/// image transposed `(0, 3, 1, 2)` is already what it holds) no node is written; otherwise the result keeps the
/// input's layout.
struct TransposeLowering: ONNXLowering {
    static func lower(_ op: Transpose, in context: inout LoweringContext) -> LoweredValue {
        transpose(perm: op.perm, in: &context)
    }

    /// The current layer's input with its NHWC axes permuted by `perm` (the batch axis counts).
    static func transpose(perm: [Int], in context: inout LoweringContext) -> LoweredValue {
        let x = context.input(0)
        let rank = perm.count
        let identity = Array(0..<rank)
        let toLast = perm.map { context.heldAxis($0, rank: rank, channelsFirst: x.channelsFirst) }
        let toFirst =
            rank == 4
            ? [0, 3, 1, 2].map { context.heldAxis(perm[$0], rank: rank, channelsFirst: x.channelsFirst) } : nil
        if toLast == identity { return LoweredValue(name: x.name, channelsFirst: false) }
        if toFirst == identity { return LoweredValue(name: x.name, channelsFirst: true) }
        let (perm, channelsFirst) = x.channelsFirst ? (toFirst ?? toLast, toFirst != nil) : (toLast, false)
        return LoweredValue(
            name: context.node("Transpose", [x.name], [.ints("perm", perm)]), channelsFirst: channelsFirst)
    }
}
