import ParityModel

/// `swapped-gamma-beta` and `swapped-mean-variance`: two of a batch norm's parameters exchanged, loaded by position
/// from a list that orders them differently. One type for both: the mistake is the same, only the pair and the
/// advice differ.
struct SwappedBatchNormParameters: PortingVariant {
    let id: String
    /// The two parameters the recording exchanged.
    let swapped: (String, String)
    /// What the recording did, what TensorFlow does and what to change.
    let detail: String

    /// The scale and offset exchanged.
    static let gammaBeta = SwappedBatchNormParameters(
        id: "swapped-gamma-beta", swapped: ("gamma", "beta"),
        detail: "the recording used beta as the scale and gamma as the offset; TensorFlow computes "
            + "gamma·(x − mean)/sqrt(variance + epsilon) + beta. Load gamma and beta by name, not by position "
            + "(Keras orders them gamma, beta, moving_mean, moving_variance).")

    /// The moving mean and moving variance exchanged (PyTorch's `running_mean` and `running_var` loaded by position).
    static let meanVariance = SwappedBatchNormParameters(
        id: "swapped-mean-variance", swapped: ("moving_mean", "moving_variance"),
        detail: "the recording used the moving variance as the mean and the moving mean as the variance. "
            + "Load moving_mean and moving_variance by name (PyTorch's running_mean and running_var).")

    /// The batch norm with the two parameters exchanged; none for another layer or when either is missing.
    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        let (first, second) = swapped
        guard layer.op is BatchNormalization, let a = context.parameter(layer, first),
            let b = context.parameter(layer, second)
        else { return [] }
        return [
            .parameters(
                layer, [context.parameterKey(layer, first): b, context.parameterKey(layer, second): a], detail: detail)
        ]
    }
}
