import ParityModel

/// `swapped-mean-variance`: a batch norm's moving mean and moving variance exchanged (PyTorch's `running_mean` and
/// `running_var` loaded by position).
struct SwappedMeanVariance: PortingVariant {
    let id = "swapped-mean-variance"

    func candidates(for layer: Layer, in context: VariantContext) -> [VariantCandidate] {
        guard layer.op is BatchNormalization, let mean = context.parameter(layer, "moving_mean"),
            let variance = context.parameter(layer, "moving_variance")
        else { return [] }
        return [
            .parameters(
                layer,
                [
                    context.parameterKey(layer, "moving_mean"): variance,
                    context.parameterKey(layer, "moving_variance"): mean,
                ],
                detail: "the recording used the moving variance as the mean and the moving mean as the variance. "
                    + "Load moving_mean and moving_variance by name (PyTorch's running_mean and running_var).")
        ]
    }
}
