import ParityModel

/// `swapped-mean-variance`: a batch norm's moving mean and moving variance exchanged (PyTorch's `running_mean` and
/// `running_var` loaded by position).
struct SwappedMeanVariance: PortingVariant {
    let id = "swapped-mean-variance"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        context.swappingBatchNormParameters(
            "moving_mean", "moving_variance", of: layer,
            detail: "the recording used the moving variance as the mean and the moving mean as the variance. "
                + "Load moving_mean and moving_variance by name (PyTorch's running_mean and running_var).")
    }
}
