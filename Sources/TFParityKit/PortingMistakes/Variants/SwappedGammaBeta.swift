import ParityModel

/// `swapped-gamma-beta`: a batch norm's scale and offset exchanged (loaded by position from a list that orders them
/// differently).
struct SwappedGammaBeta: PortingVariant {
    let id = "swapped-gamma-beta"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        context.swappingBatchNormParameters(
            "gamma", "beta", of: layer,
            detail: "the recording used beta as the scale and gamma as the offset; TensorFlow computes "
                + "gamma·(x − mean)/sqrt(variance + epsilon) + beta. Load gamma and beta by name, not by position "
                + "(Keras orders them gamma, beta, moving_mean, moving_variance).")
    }
}
