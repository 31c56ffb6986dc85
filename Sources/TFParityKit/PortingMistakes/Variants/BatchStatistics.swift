import ParityModel
import TensorCore

/// `unbiased-batch-variance` (and `batch-statistics`): a batch norm normalised with the batch's own statistics
/// (training mode), its variance with Bessel's correction (N − 1, `torch.var`'s default) or without.
struct BatchStatistics: PortingVariant {
    /// Whether the variance divides by N − 1.
    let unbiased: Bool

    var id: String { unbiased ? "unbiased-batch-variance" : "batch-statistics" }

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        guard let bn = layer.op as? BatchNormalization, let input = layer.inputs.first,
            let x = context.value(of: input), let mean = context.parameter(layer, "moving_mean")
        else { return [] }
        let rank = x.shape.count
        let axis = bn.axis < 0 ? bn.axis + rank : bn.axis
        guard axis >= 0, axis < rank, x.shape[axis] == mean.elementCount else { return [] }
        let channels = x.shape[axis]
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let perChannel = x.count / max(channels, 1)
        guard perChannel > 1 else { return [] }
        var sums = [Double](repeating: 0, count: channels)
        for i in 0..<x.count { sums[(i / inner) % channels] += Double(x.values[i]) }
        let means = sums.map { $0 / Double(perChannel) }
        var squares = [Double](repeating: 0, count: channels)
        for i in 0..<x.count {
            let d = Double(x.values[i]) - means[(i / inner) % channels]
            squares[(i / inner) % channels] += d * d
        }
        let divisor = Double(unbiased ? perChannel - 1 : perChannel)
        let variances = squares.map { $0 / divisor }
        let shape = [channels]
        let detail =
            unbiased
            ? "the recording normalised with the batch's own mean and variance, the variance divided by N − 1 "
                + "(Bessel's correction, torch.var's default; N = \(perChannel)): training-mode statistics. TensorFlow "
                + "at inference uses the moving averages: run in inference mode (model.eval(), training=False); "
                + "where batch statistics are meant, divide by N (unbiased=False), as TensorFlow does."
            : "the recording normalised with the batch's own mean and variance (training mode, N = \(perChannel)), "
                + "not the moving averages. Record in inference mode: model(x, training=False), or the phase flag off."
        return [
            .parameters(
                layer,
                [
                    context.parameterKey(layer, "moving_mean"): Tensor(shape: shape, floats: means.map(Float.init)),
                    context.parameterKey(layer, "moving_variance"): Tensor(
                        shape: shape, floats: variances.map(Float.init)),
                ], detail: detail)
        ]
    }
}
